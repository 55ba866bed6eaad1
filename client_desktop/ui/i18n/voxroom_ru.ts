<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru_RU">
<context>
    <name>CallBar</name>
    <message>
        <source>Join voice</source>
        <translation>Подключиться</translation>
    </message>
    <message>
        <source>Join or leave the voice call</source>
        <translation>Войти в голосовой звонок или выйти из него</translation>
    </message>
    <message>
        <source>Mute</source>
        <translation>Выкл. микрофон</translation>
    </message>
    <message>
        <source>Mute your microphone (Ctrl+M)</source>
        <translation>Выключить микрофон (Ctrl+M)</translation>
    </message>
    <message>
        <source>Deafen</source>
        <translation>Выкл. звук</translation>
    </message>
    <message>
        <source>Hear nothing and mute (Ctrl+D)</source>
        <translation>Выключить звук и микрофон (Ctrl+D)</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Настройки</translation>
    </message>
    <message>
        <source>Audio settings</source>
        <translation>Настройки звука</translation>
    </message>
    <message>
        <source>People</source>
        <translation>Участники</translation>
    </message>
    <message>
        <source>Show or hide who is here</source>
        <translation>Показать или скрыть список участников</translation>
    </message>
    <message>
        <source>Leave room</source>
        <comment>the button&apos;s short text; its full name is read aloud</comment>
        <translation>Выйти</translation>
    </message>
    <message>
        <source>Leave room</source>
        <translation>Выйти из комнаты</translation>
    </message>
    <message>
        <source>Leave voice</source>
        <translation>Отключиться</translation>
    </message>
    <message>
        <source>Push to talk: hold {key}</source>
        <translation>Рация: держите {key}</translation>
    </message>
    <message>
        <source>Voice activity</source>
        <translation>По голосу</translation>
    </message>
</context>
<context>
    <name>CallPath</name>
    <message>
        <source>The call could not connect</source>
        <translation>Не удалось соединиться</translation>
    </message>
    <message>
        <source>Connecting the call…</source>
        <translation>Соединение…</translation>
    </message>
    <message>
        <source>Direct connection ({protocol})</source>
        <translation>Прямое соединение ({protocol})</translation>
    </message>
    <message>
        <source>Through the relay server ({protocol})</source>
        <translation>Через сервер-ретранслятор ({protocol})</translation>
    </message>
    <message>
        <source>loss {percent} %</source>
        <translation>потери {percent} %</translation>
    </message>
    <message>
        <source>jitter {ms} ms</source>
        <translation>джиттер {ms} мс</translation>
    </message>
    <message>
        <source>buffer {ms} ms</source>
        <translation>буфер {ms} мс</translation>
    </message>
    <message>
        <source>round trip measuring…</source>
        <translation>задержка измеряется…</translation>
    </message>
    <message>
        <source>round trip {ms} ms</source>
        <translation>задержка {ms} мс</translation>
    </message>
</context>
<context>
    <name>ConfirmRemoval</name>
    <message>
        <source>Ban</source>
        <translation>Забанить</translation>
    </message>
    <message>
        <source>Kick</source>
        <translation>Выгнать</translation>
    </message>
    <message>
        <source>Ban {name}? Nobody can join from their address until the ban ends.</source>
        <translation>Забанить {name}? Пока бан не истечёт, с этого адреса никто не сможет войти.</translation>
    </message>
    <message>
        <source>Remove {name} from the room? They can join again.</source>
        <translation>Выгнать {name} из комнаты? Войти снова можно будет сразу.</translation>
    </message>
    <message>
        <source>Optional; everyone in the room sees it</source>
        <translation>Необязательно; её увидят все в комнате</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Причина</translation>
    </message>
    <message>
        <source>Ban for</source>
        <translation>Срок бана</translation>
    </message>
    <message>
        <source>&amp;Reason</source>
        <translation>&amp;Причина</translation>
    </message>
    <message>
        <source>Ban &amp;for</source>
        <translation>&amp;Срок бана</translation>
    </message>
    <message>
        <source>1 day</source>
        <translation>1 день</translation>
    </message>
    <message numerus="yes">
        <source>%n days</source>
        <translation>
            <numerusform>%n день</numerusform>
            <numerusform>%n дня</numerusform>
            <numerusform>%n дней</numerusform>
        </translation>
    </message>
    <message>
        <source>1 hour</source>
        <translation>1 час</translation>
    </message>
    <message numerus="yes">
        <source>%n hours</source>
        <translation>
            <numerusform>%n час</numerusform>
            <numerusform>%n часа</numerusform>
            <numerusform>%n часов</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ConnectionStatus</name>
    <message>
        <source>Connection status</source>
        <translation>Состояние соединения</translation>
    </message>
    <message>
        <source>Connected again.</source>
        <translation>Соединение восстановлено.</translation>
    </message>
    <message>
        <source>Disconnected: {reason}</source>
        <translation>Соединение прервано: {reason}</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>Повторить</translation>
    </message>
    <message>
        <source>Connection lost ({reason}); reconnecting in {seconds} s… You can keep typing.</source>
        <translation>Соединение потеряно ({reason}); переподключение через {seconds} с… Сообщения можно писать дальше.</translation>
    </message>
    <message>
        <source>Connection lost ({reason}); reconnecting… You can keep typing.</source>
        <translation>Соединение потеряно ({reason}); переподключение… Сообщения можно писать дальше.</translation>
    </message>
</context>
<context>
    <name>HostingBox</name>
    <message>
        <source>Only this computer</source>
        <translation>Только этот компьютер</translation>
    </message>
    <message>
        <source>Host for this computer only</source>
        <translation>Сервер только для этого компьютера</translation>
    </message>
    <message>
        <source>My network</source>
        <translation>Моя сеть</translation>
    </message>
    <message>
        <source>Host for my network</source>
        <translation>Сервер для моей сети</translation>
    </message>
    <message>
        <source>Who can join</source>
        <translation>Кто может войти</translation>
    </message>
    <message>
        <source>Invite link</source>
        <translation>Ссылка-приглашение</translation>
    </message>
    <message>
        <source>Copy link</source>
        <translation>Копировать ссылку</translation>
    </message>
    <message>
        <source>Copy invite link</source>
        <translation>Копировать ссылку-приглашение</translation>
    </message>
    <message>
        <source>A server will start on this computer when you join.</source>
        <translation>Когда вы войдёте, на этом компьютере запустится сервер.</translation>
    </message>
    <message>
        <source>Hosting status</source>
        <translation>Состояние сервера</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>Скопировано</translation>
    </message>
    <message>
        <source>Only programs on this computer can join (127.0.0.1:{port}). Nobody else can reach it.</source>
        <translation>Войти могут только программы на этом компьютере (127.0.0.1:{port}). Больше никому сервер не виден.</translation>
    </message>
    <message>
        <source> or </source>
        <translation> или </translation>
    </message>
    <message>
        <source>Others on your network join at {addresses}. A password is required.</source>
        <translation>Другие в вашей сети входят по адресу {addresses}. Нужен пароль.</translation>
    </message>
    <message>
        <source>This computer has no network address right now, so only it can join. Connect to a network and tick the box again.</source>
        <translation>Сейчас у компьютера нет сетевого адреса, поэтому войти можно только с него. Подключитесь к сети и снова поставьте флажок.</translation>
    </message>
    <message>
        <source>Type a valid room name for the link</source>
        <translation>Для ссылки нужно допустимое название комнаты</translation>
    </message>
</context>
<context>
    <name>InviteNotice</name>
    <message>
        <source>You are hosting. Invite link: {link} (password: {password})</source>
        <translation>Сервер запущен у вас. Ссылка-приглашение: {link} (пароль: {password})</translation>
    </message>
    <message>
        <source>You are hosting. Invite link: {link}</source>
        <translation>Сервер запущен у вас. Ссылка-приглашение: {link}</translation>
    </message>
    <message>
        <source>Copy invite link</source>
        <translation>Копировать ссылку</translation>
    </message>
</context>
<context>
    <name>LanguageBox</name>
    <message>
        <source>Language</source>
        <translation>Язык</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>Язык системы</translation>
    </message>
    <message>
        <source>Voxroom starts in the chosen language the next time it opens.</source>
        <translation>Выбранный язык включится при следующем запуске Voxroom.</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>&amp;Язык</translation>
    </message>
</context>
<context>
    <name>LevelMeter</name>
    <message>
        <source>Input level</source>
        <translation>Уровень микрофона</translation>
    </message>
</context>
<context>
    <name>LinkOpener</name>
    <message>
        <source>To join {room} from the link you opened, leave this room: the form has it filled in.</source>
        <translation>Чтобы войти в {room} по открытой ссылке, выйдите из этой комнаты: форма уже заполнена.</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>Закрыть</translation>
    </message>
</context>
<context>
    <name>LockDialog</name>
    <message>
        <source>Lock the room</source>
        <translation>Закрыть комнату</translation>
    </message>
    <message>
        <source>Nobody new can join until the room is unlocked. People in it stay, and may come back if their connection drops.</source>
        <translation>Пока комната закрыта, новые участники войти не смогут. Те, кто уже в ней, останутся и смогут вернуться, если связь прервётся.</translation>
    </message>
    <message>
        <source>Let in whoever gives a password</source>
        <translation>Впускать тех, кто знает пароль</translation>
    </message>
    <message>
        <source>Room password</source>
        <translation>Пароль комнаты</translation>
    </message>
    <message>
        <source>They type it under Advanced when joining</source>
        <translation>Его вводят в разделе «Дополнительно» при входе</translation>
    </message>
    <message>
        <source>Lock</source>
        <translation>Закрыть</translation>
    </message>
</context>
<context>
    <name>LoginView</name>
    <message>
        <source>Enter the server&apos;s address, e.g. {example}.</source>
        <translation>Введите адрес сервера, например {example}.</translation>
    </message>
    <message>
        <source>The address must look like host:port or ws://host:port{path}.</source>
        <translation>Адрес должен выглядеть как хост:порт или ws://хост:порт{path}.</translation>
    </message>
    <message>
        <source>The port must be a number from 1 to 65535.</source>
        <translation>Порт — число от 1 до 65535.</translation>
    </message>
    <message>
        <source>Names are 1-{most} characters with at least one visible one, without control characters.</source>
        <translation>Имя — от 1 до {most} символов, хотя бы один видимый, без управляющих символов.</translation>
    </message>
    <message>
        <source>Server address</source>
        <translation>Адрес сервера</translation>
    </message>
    <message>
        <source>e.g. {example}</source>
        <translation>например, {example}</translation>
    </message>
    <message>
        <source>Room</source>
        <translation>Комната</translation>
    </message>
    <message>
        <source>e.g. lobby</source>
        <translation>например, lobby</translation>
    </message>
    <message>
        <source>Your name</source>
        <translation>Ваше имя</translation>
    </message>
    <message>
        <source>How others will see you</source>
        <translation>Под этим именем вас увидят другие</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Пароль</translation>
    </message>
    <message>
        <source>Admin password</source>
        <translation>Пароль администратора</translation>
    </message>
    <message>
        <source>Only if you moderate this server</source>
        <translation>Только если вы модератор этого сервера</translation>
    </message>
    <message>
        <source>Room password</source>
        <translation>Пароль комнаты</translation>
    </message>
    <message>
        <source>Only if a moderator locked the room with one</source>
        <translation>Только если модератор закрыл комнату паролем</translation>
    </message>
    <message>
        <source>Advanced</source>
        <translation>Дополнительно</translation>
    </message>
    <message>
        <source>Advanced: admin and room passwords</source>
        <translation>Дополнительно: пароли администратора и комнаты</translation>
    </message>
    <message>
        <source>Host on this computer</source>
        <translation>Сервер на этом компьютере</translation>
    </message>
    <message>
        <source>Start a server here and join it; choose below who else can reach it</source>
        <translation>Запустить сервер здесь и войти в него; ниже выберите, кому он будет доступен</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Ошибка</translation>
    </message>
    <message>
        <source>Join room</source>
        <translation>Войти в комнату</translation>
    </message>
    <message>
        <source>Audio settings…</source>
        <translation>Настройки звука…</translation>
    </message>
    <message>
        <source>Audio settings</source>
        <translation>Настройки звука</translation>
    </message>
    <message>
        <source>Join a voice room, or host one for your friends.</source>
        <translation>Войдите в голосовую комнату или создайте свою для друзей.</translation>
    </message>
    <message>
        <source>&amp;Server address</source>
        <translation>&amp;Адрес сервера</translation>
    </message>
    <message>
        <source>&amp;Room</source>
        <translation>&amp;Комната</translation>
    </message>
    <message>
        <source>Your &amp;name</source>
        <translation>&amp;Ваше имя</translation>
    </message>
    <message>
        <source>A&amp;dmin password</source>
        <translation>Пароль а&amp;дминистратора</translation>
    </message>
    <message>
        <source>Roo&amp;m password</source>
        <translation>Пароль ко&amp;мнаты</translation>
    </message>
    <message>
        <source>&amp;Password for your guests</source>
        <translation>&amp;Пароль для гостей</translation>
    </message>
    <message>
        <source>&amp;Password (optional)</source>
        <translation>&amp;Пароль (необязательно)</translation>
    </message>
    <message>
        <source>Leave empty to get one made for you</source>
        <translation>Оставьте пустым — пароль придумается сам</translation>
    </message>
    <message>
        <source>Others on this computer must type it</source>
        <translation>Другим пользователям этого компьютера нужно будет его ввести</translation>
    </message>
    <message>
        <source>Only if the server asks for one</source>
        <translation>Только если сервер его требует</translation>
    </message>
    <message>
        <source>Joining…</source>
        <translation>Вход…</translation>
    </message>
    <message>
        <source>Your guests need the password {password} (it is not in the link).</source>
        <translation>Гостям нужен пароль {password} (в ссылке его нет).</translation>
    </message>
    <message>
        <source>Hosting at {address}, for this computer only.</source>
        <translation>Сервер работает на {address}, только для этого компьютера.</translation>
    </message>
    <message>
        <source>Hosting. Others can join at {address}.</source>
        <translation>Сервер работает. Другие могут войти по адресу {address}.</translation>
    </message>
    <message>
        <source>Your guests need the password {password}.</source>
        <translation>Гостям нужен пароль {password}.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>You are hosting. Others can join at {address}</source>
        <translation>Сервер запущен у вас. Другие могут войти по адресу {address}</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>Закрыть</translation>
    </message>
    <message>
        <source>{room} on {server} — Voxroom</source>
        <translation>{room} на {server} — Voxroom</translation>
    </message>
</context>
<context>
    <name>Moderation</name>
    <message>
        <source>Unmute for everyone</source>
        <translation>Включить микрофон для всех</translation>
    </message>
    <message>
        <source>Mute for everyone</source>
        <translation>Выключить микрофон для всех</translation>
    </message>
    <message>
        <source>Kick…</source>
        <translation>Выгнать…</translation>
    </message>
    <message>
        <source>Ban…</source>
        <translation>Забанить…</translation>
    </message>
    <message>
        <source>Change the lock…</source>
        <translation>Изменить блокировку…</translation>
    </message>
    <message>
        <source>Lock room…</source>
        <translation>Закрыть комнату…</translation>
    </message>
    <message>
        <source>Unlock room</source>
        <translation>Открыть комнату</translation>
    </message>
</context>
<context>
    <name>RoomView</name>
    <message>
        <source>Room</source>
        <translation>Комната</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Сервер</translation>
    </message>
    <message>
        <source>Notice</source>
        <translation>Уведомление</translation>
    </message>
    <message>
        <source>Moderate ▾</source>
        <translation>Модерация ▾</translation>
    </message>
    <message>
        <source>Moderate the room</source>
        <translation>Модерация комнаты</translation>
    </message>
    <message>
        <source>Lock or unlock the room (you joined as a moderator)</source>
        <translation>Закрыть или открыть комнату (вы вошли как модератор)</translation>
    </message>
    <message>
        <source>hosted here, others join at {address}</source>
        <translation>этом компьютере, другие входят по адресу {address}</translation>
    </message>
    <message>
        <source>on {server}</source>
        <translation>на {server}</translation>
    </message>
    <message>
        <source>{name} joined</source>
        <translation>{name} входит в комнату</translation>
    </message>
    <message>
        <source>{name} left</source>
        <translation>{name} выходит из комнаты</translation>
    </message>
    <message>
        <source>{name} says: {text}</source>
        <translation>{name} пишет: {text}</translation>
    </message>
    <message>
        <source>Not sent: {reason}</source>
        <translation>Не отправлено: {reason}</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>Закрыть</translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <source>Show Voxroom</source>
        <translation>Показать Voxroom</translation>
    </message>
    <message>
        <source>Mute</source>
        <translation>Выключить микрофон</translation>
    </message>
    <message>
        <source>Deafen</source>
        <translation>Выключить звук</translation>
    </message>
    <message>
        <source>Leave room</source>
        <translation>Выйти из комнаты</translation>
    </message>
    <message>
        <source>Quit Voxroom</source>
        <translation>Закрыть Voxroom</translation>
    </message>
    <message>
        <source>Voxroom: not in a room</source>
        <translation>Voxroom: не в комнате</translation>
    </message>
    <message>
        <source>Voxroom: in a call in {room}</source>
        <translation>Voxroom: в звонке, комната {room}</translation>
    </message>
    <message>
        <source>Voxroom: muted in {room}</source>
        <translation>Voxroom: микрофон выключен, комната {room}</translation>
    </message>
    <message>
        <source>Voxroom is still in the call</source>
        <translation>Voxroom всё ещё в звонке</translation>
    </message>
    <message>
        <source>Mute, leave or quit from this icon&apos;s menu.</source>
        <translation>Выключить микрофон, выйти или закрыть программу можно из меню этого значка.</translation>
    </message>
</context>
<context>
    <name>UsersPanel</name>
    <message>
        <source>People in the room</source>
        <translation>Участники комнаты</translation>
    </message>
    <message>
        <source>in the call</source>
        <translation>в звонке</translation>
    </message>
    <message>
        <source>chat only</source>
        <translation>только чат</translation>
    </message>
    <message>
        <source>muted</source>
        <translation>микрофон выключен</translation>
    </message>
    <message>
        <source>deafened</source>
        <translation>звук выключен</translation>
    </message>
    <message>
        <source>speaking</source>
        <translation>говорит</translation>
    </message>
    <message>
        <source>volume {percent}%</source>
        <translation>громкость {percent} %</translation>
    </message>
    <message>
        <source>, </source>
        <translation>, </translation>
    </message>
    <message>
        <source>{name} (you)</source>
        <translation>{name} (вы)</translation>
    </message>
    <message>
        <source>Volume</source>
        <translation>Громкость</translation>
    </message>
    <message>
        <source>Reset volume</source>
        <translation>Сбросить громкость</translation>
    </message>
</context>
</TS>
