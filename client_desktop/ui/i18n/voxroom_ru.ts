<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru_RU">
<context>
    <name>Announcer</name>
    <message numerus="yes">
        <source>%n new messages</source>
        <translation>
            <numerusform>%n новое сообщение</numerusform>
            <numerusform>%n новых сообщения</numerusform>
            <numerusform>%n новых сообщений</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Bridge</name>
    <message>
        <source>Wrong password for this server.</source>
        <translation>Неверный пароль для этого сервера.</translation>
    </message>
    <message>
        <source>Someone in this room already uses that name. Pick another one.</source>
        <translation>В этой комнате уже есть участник с таким именем. Выберите другое.</translation>
    </message>
    <message>
        <source>This room is full. Try again later or pick another room.</source>
        <translation>Комната заполнена. Попробуйте позже или выберите другую комнату.</translation>
    </message>
    <message>
        <source>The server is full right now. Try again in a moment.</source>
        <translation>Сервер сейчас переполнен. Попробуйте чуть позже.</translation>
    </message>
    <message>
        <source>The server did not accept these details.</source>
        <translation>Сервер не принял эти данные.</translation>
    </message>
    <message>
        <source>A moderator has barred you from this server for a while.</source>
        <translation>Модератор на время закрыл вам доступ к этому серверу.</translation>
    </message>
    <message>
        <source>A moderator has barred you from this server for a while. ({message})</source>
        <translation>Модератор временно закрыл вам доступ к этому серверу. ({message})</translation>
    </message>
    <message>
        <source>This room is locked: nobody new may join it for now.</source>
        <translation>Комната заперта: новые участники пока не могут войти.</translation>
    </message>
    <message>
        <source>A moderator removed you from the room.</source>
        <translation>Модератор удалил вас из комнаты.</translation>
    </message>
    <message>
        <source>A moderator removed you from the room. ({message})</source>
        <translation>Модератор удалил вас из комнаты. ({message})</translation>
    </message>
    <message>
        <source>You joined this room from another window, so this one was disconnected.</source>
        <translation>Вы вошли в эту комнату из другого окна, поэтому это окно отключено.</translation>
    </message>
    <message>
        <source>Cannot reach the server. Check the address and that it is running. ({message})</source>
        <translation>Не удаётся связаться с сервером. Проверьте адрес и что сервер запущен. ({message})</translation>
    </message>
    <message>
        <source>The secure connection failed; the server&apos;s certificate is not trusted. ({message})</source>
        <translation>Не удалось установить защищённое соединение: сертификату сервера нет доверия. ({message})</translation>
    </message>
    <message>
        <source>Something went wrong inside Voxroom. ({message})</source>
        <translation>Внутренняя ошибка Voxroom. ({message})</translation>
    </message>
    <message>
        <source>Only moderators can do that. To moderate, join again with the server&apos;s admin password (under Advanced).</source>
        <translation>Это могут делать только модераторы. Чтобы модерировать, войдите заново с паролем администратора сервера (в разделе «Дополнительно»).</translation>
    </message>
    <message>
        <source>That person is no longer in the room.</source>
        <translation>Этого участника уже нет в комнате.</translation>
    </message>
    <message>
        <source>You are sending too fast; wait a moment.</source>
        <translation>Вы отправляете слишком часто; подождите немного.</translation>
    </message>
    <message>
        <source>The server could not save that message; send it again later.</source>
        <translation>Сервер не смог сохранить это сообщение; отправьте его позже ещё раз.</translation>
    </message>
    <message>
        <source>The server did not accept that ({reason}).</source>
        <translation>Сервер этого не принял ({reason}).</translation>
    </message>
    <message>
        <source>The server and Voxroom disagree about whether you are in the room ({reason}).</source>
        <translation>Сервер и Voxroom расходятся в том, находитесь ли вы в комнате ({reason}).</translation>
    </message>
    <message>
        <source>This room&apos;s call goes through a media server this version of Voxroom cannot use; chat still works.</source>
        <translation>Звонок в этой комнате идёт через медиасервер, с которым эта версия Voxroom работать не умеет; чат работает.</translation>
    </message>
    <message>
        <source>The call through the server&apos;s media server has a problem: {reason}</source>
        <translation>У звонка через медиасервер сервера проблема: {reason}</translation>
    </message>
    <message>
        <source>The server reported a problem ({code}).</source>
        <translation>Сервер сообщил о проблеме ({code}).</translation>
    </message>
    <message>
        <source>This server address cannot be used: {address}. Type it as host:port.</source>
        <translation>Этот адрес сервера использовать нельзя: {address}. Введите его как хост:порт.</translation>
    </message>
    <message>
        <source>you are not in a room</source>
        <translation>вы не в комнате</translation>
    </message>
    <message>
        <source>Cannot reach the server&apos;s media port from here, so you hear no one and no one hears you; chat still works. A firewall may block its UDP ports.</source>
        <translation>Медиапорт сервера отсюда недоступен: вы никого не слышите, и вас никто не слышит; чат работает. Возможно, его UDP-порты закрыты брандмауэром.</translation>
    </message>
    <message>
        <source>{by} kicked {target}</source>
        <translation>{by} выгнал(а) {target}</translation>
    </message>
    <message>
        <source>{by} banned {target} for {duration}</source>
        <translation>{by} заблокировал(а) {target} на {duration}</translation>
    </message>
    <message>
        <source>{by} muted {target}</source>
        <translation>{by} выключил(а) микрофон участнику {target}</translation>
    </message>
    <message>
        <source>{by} unmuted {target}</source>
        <translation>{by} включил(а) микрофон участнику {target}</translation>
    </message>
    <message>
        <source>{by} unlocked the room</source>
        <translation>{by} отпер(ла) комнату</translation>
    </message>
    <message>
        <source>{by} locked the room with a password</source>
        <translation>{by} запер(ла) комнату паролем</translation>
    </message>
    <message>
        <source>{by} locked the room</source>
        <translation>{by} запер(ла) комнату</translation>
    </message>
    <message>
        <source>{done}: {reason}</source>
        <translation>{done}: {reason}</translation>
    </message>
    <message>
        <source>Hosting is not available in this copy of Voxroom.</source>
        <translation>В этой сборке Voxroom нельзя создать свой сервер.</translation>
    </message>
    <message>
        <source>Could not start a server on this computer: {why}</source>
        <translation>Не удалось запустить сервер на этом компьютере: {why}</translation>
    </message>
    <message>
        <source>These details cannot be used: {problem}</source>
        <translation>Эти данные не подходят: {problem}</translation>
    </message>
    <message>
        <source>There is no sound output here.</source>
        <translation>Здесь нет вывода звука.</translation>
    </message>
    <message>
        <source>Could not play the test tone: {problem}</source>
        <translation>Не удалось проиграть тестовый сигнал: {problem}</translation>
    </message>
    <message>
        <source>Cannot open the microphone: {problem}</source>
        <translation>Не удаётся открыть микрофон: {problem}</translation>
    </message>
    <message>
        <source>the sound system did not answer in time</source>
        <translation>звуковая система не ответила вовремя</translation>
    </message>
    <message>
        <source>its port is already in use (is Voxroom already hosting, or another program on that port?).</source>
        <translation>его порт уже занят (может быть, Voxroom уже держит сервер или порт занят другой программой?).</translation>
    </message>
</context>
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
    <name>ChatDocument</name>
    <message>
        <source>(you)</source>
        <translation>(вы)</translation>
    </message>
    <message>
        <source>sending…</source>
        <translation>отправляется…</translation>
    </message>
</context>
<context>
    <name>ChatView</name>
    <message>
        <source>Beginning of the room&apos;s history</source>
        <translation>Начало истории комнаты</translation>
    </message>
    <message>
        <source>Chat messages</source>
        <translation>Сообщения чата</translation>
    </message>
    <message>
        <source>New messages ↓</source>
        <translation>Новые сообщения ↓</translation>
    </message>
    <message>
        <source>Scroll to new messages</source>
        <translation>Перейти к новым сообщениям</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Сообщение</translation>
    </message>
    <message>
        <source>Message the room (Enter sends, Shift+Enter for a new line)</source>
        <translation>Сообщение в комнату (Enter — отправить, Shift+Enter — новая строка)</translation>
    </message>
    <message>
        <source>Characters left</source>
        <translation>Осталось символов</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>Отправить</translation>
    </message>
    <message>
        <source>Send message</source>
        <translation>Отправить сообщение</translation>
    </message>
    <message>
        <source>Too long to send: shorten it</source>
        <translation>Слишком длинное сообщение: сократите его</translation>
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
    <name>DesktopNotifier</name>
    <message>
        <source>Show Voxroom</source>
        <translation>Показать Voxroom</translation>
    </message>
</context>
<context>
    <name>Durations</name>
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
    <message>
        <source>1 minute</source>
        <translation>1 минуту</translation>
    </message>
    <message numerus="yes">
        <source>%n minutes</source>
        <translation>
            <numerusform>%n минуту</numerusform>
            <numerusform>%n минуты</numerusform>
            <numerusform>%n минут</numerusform>
        </translation>
    </message>
    <message>
        <source>1 second</source>
        <translation>1 секунду</translation>
    </message>
    <message numerus="yes">
        <source>%n seconds</source>
        <translation>
            <numerusform>%n секунду</numerusform>
            <numerusform>%n секунды</numerusform>
            <numerusform>%n секунд</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>EngineWords</name>
    <message>
        <source>{where} refused the connection: is the server running?</source>
        <translation>{where} отклонил соединение: сервер запущен?</translation>
    </message>
    <message>
        <source>cannot find the server {where} ({error})</source>
        <translation>не удаётся найти сервер {where} ({error})</translation>
    </message>
    <message>
        <source>no answer from {where} within {seconds} s</source>
        <translation>{where} не ответил за {seconds} с</translation>
    </message>
    <message>
        <source>cannot reach {where} ({error})</source>
        <translation>не удаётся связаться с {where} ({error})</translation>
    </message>
    <message>
        <source>{where} answered HTTP {status}, not a voice room; check the address (it ends in {path})</source>
        <translation>{where} ответил HTTP {status}, а не как голосовая комната; проверьте адрес (он оканчивается на {path})</translation>
    </message>
    <message>
        <source>{where} does not speak the Voxroom protocol ({error})</source>
        <translation>{where} не говорит по протоколу Voxroom ({error})</translation>
    </message>
    <message>
        <source>the certificate of {where} is not trusted ({reason}); if this is your own server, install its certificate or its CA</source>
        <translation>сертификату {where} нет доверия ({reason}); если это ваш собственный сервер, установите его сертификат или его удостоверяющий центр</translation>
    </message>
    <message>
        <source>the secure connection to {where} failed ({reason})</source>
        <translation>не удалось установить защищённое соединение с {where} ({reason})</translation>
    </message>
    <message>
        <source>{where} did not answer the join within {seconds} s</source>
        <translation>{where} не ответил на вход в комнату за {seconds} с</translation>
    </message>
    <message>
        <source>{where} closed the connection before the room was joined</source>
        <translation>{where} закрыл соединение до входа в комнату</translation>
    </message>
    <message>
        <source>the server is full, try again later</source>
        <translation>сервер переполнен, попробуйте позже</translation>
    </message>
    <message>
        <source>the server refused the join ({code})</source>
        <translation>сервер не впустил в комнату ({code})</translation>
    </message>
    <message>
        <source>the connection was lost</source>
        <translation>соединение потеряно</translation>
    </message>
    <message>
        <source>the server stopped answering</source>
        <translation>сервер перестал отвечать</translation>
    </message>
    <message>
        <source>the server is restarting</source>
        <translation>сервер перезапускается</translation>
    </message>
    <message>
        <source>this place was taken over by another connection (joined again elsewhere?)</source>
        <translation>это место заняло другое соединение (вход из другого окна?)</translation>
    </message>
    <message>
        <source>a moderator removed you from the room: {reason}</source>
        <translation>модератор удалил вас из комнаты: {reason}</translation>
    </message>
    <message>
        <source>a moderator removed you from the room</source>
        <translation>модератор удалил вас из комнаты</translation>
    </message>
    <message>
        <source>the server closed the connection (code {code}: {reason})</source>
        <translation>сервер закрыл соединение (код {code}: {reason})</translation>
    </message>
    <message>
        <source>the server closed the connection (code {code})</source>
        <translation>сервер закрыл соединение (код {code})</translation>
    </message>
    <message>
        <source>{first} and {second}</source>
        <translation>{first} и {second}</translation>
    </message>
    <message>
        <source>Audio device problem: {problem}. Using {fallback}.</source>
        <translation>Проблема со звуковым устройством: {problem}. Используется: {fallback}.</translation>
    </message>
    <message>
        <source>no audio; chat still works</source>
        <translation>без звука; чат работает</translation>
    </message>
    <message>
        <source>the sound device stopped responding</source>
        <translation>звуковое устройство перестало отвечать</translation>
    </message>
    <message>
        <source>the microphone “{name}” was disconnected</source>
        <translation>микрофон «{name}» отключён</translation>
    </message>
    <message>
        <source>the speaker “{name}” was disconnected</source>
        <translation>динамик «{name}» отключён</translation>
    </message>
    <message>
        <source>cannot open the default microphone ({error})</source>
        <translation>не удаётся открыть микрофон по умолчанию ({error})</translation>
    </message>
    <message>
        <source>cannot open the default speaker ({error})</source>
        <translation>не удаётся открыть динамик по умолчанию ({error})</translation>
    </message>
    <message>
        <source>cannot open the microphone “{name}” ({error})</source>
        <translation>не удаётся открыть микрофон «{name}» ({error})</translation>
    </message>
    <message>
        <source>cannot open the speaker “{name}” ({error})</source>
        <translation>не удаётся открыть динамик «{name}» ({error})</translation>
    </message>
    <message>
        <source>the sound system is not answering</source>
        <translation>звуковая система не отвечает</translation>
    </message>
    <message>
        <source>the default microphone</source>
        <translation>микрофон по умолчанию</translation>
    </message>
    <message>
        <source>the default speaker</source>
        <translation>динамик по умолчанию</translation>
    </message>
    <message>
        <source>no microphone</source>
        <translation>без микрофона</translation>
    </message>
    <message>
        <source>no speaker</source>
        <translation>без динамика</translation>
    </message>
</context>
<context>
    <name>GlobalPushToTalk</name>
    <message>
        <source>Push-to-talk works only while Voxroom has focus on this desktop.</source>
        <translation>В этом окружении рабочего стола клавиша «нажми и говори» работает, только пока окно Voxroom активно.</translation>
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
    <name>Links</name>
    <message>
        <source>Room names use letters, digits, &apos;.&apos;, &apos;_&apos; or &apos;-&apos; (1-{count}).</source>
        <translation>Имя комнаты состоит из букв, цифр, «.», «_» или «-» (от 1 до {count}).</translation>
    </message>
    <message>
        <source>The port must be a number from 1 to 65535.</source>
        <translation>Порт — число от 1 до 65535.</translation>
    </message>
    <message>
        <source>This link is too long to be a Voxroom invitation.</source>
        <translation>Эта ссылка слишком длинная для приглашения Voxroom.</translation>
    </message>
    <message>
        <source>A Voxroom link has no spaces or control characters (a room&apos;s name is %-encoded).</source>
        <translation>В ссылке Voxroom не бывает пробелов и управляющих символов (имя комнаты записывается через %-кодирование).</translation>
    </message>
    <message>
        <source>Not a Voxroom link: it should look like {example}.</source>
        <translation>Это не ссылка Voxroom: она должна выглядеть как {example}.</translation>
    </message>
    <message>
        <source>This link carries a name or password; Voxroom links never do. Ask for a new one.</source>
        <translation>В этой ссылке есть имя или пароль, а в ссылках Voxroom их не бывает никогда. Попросите новую.</translation>
    </message>
    <message>
        <source>This link has settings Voxroom does not know (only ?tls=0 is allowed).</source>
        <translation>В этой ссылке есть параметры, которых Voxroom не знает (допустим только ?tls=0).</translation>
    </message>
    <message>
        <source>The link&apos;s server address cannot be read.</source>
        <translation>Не удаётся прочитать адрес сервера в ссылке.</translation>
    </message>
    <message>
        <source>The port in the link must be a number from 1 to 65535.</source>
        <translation>Порт в ссылке — число от 1 до 65535.</translation>
    </message>
    <message>
        <source>The link&apos;s IPv6 address is not valid here (it names a network interface).</source>
        <translation>IPv6-адрес из ссылки здесь не годится (в нём указан сетевой интерфейс).</translation>
    </message>
    <message>
        <source>The link&apos;s IPv6 address is not valid.</source>
        <translation>IPv6-адрес в ссылке неверен.</translation>
    </message>
    <message>
        <source>The link names no server.</source>
        <translation>В ссылке не указан сервер.</translation>
    </message>
    <message>
        <source>The link&apos;s server name is not valid.</source>
        <translation>Имя сервера в ссылке неверно.</translation>
    </message>
    <message>
        <source>The link names no room.</source>
        <translation>В ссылке не указана комната.</translation>
    </message>
    <message>
        <source>A Voxroom link names one room: voxroom://HOST:PORT/ROOM.</source>
        <translation>Ссылка Voxroom ведёт в одну комнату: voxroom://HOST:PORT/ROOM.</translation>
    </message>
    <message>
        <source>The link&apos;s room name is not valid text.</source>
        <translation>Имя комнаты в ссылке — не текст.</translation>
    </message>
    <message>
        <source>The link&apos;s room {room} cannot be used. {problem}</source>
        <translation>Комнату {room} из ссылки использовать нельзя. {problem}</translation>
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
    <name>MentionNotifier</name>
    <message>
        <source>{name} mentioned you</source>
        <translation>{name} упомянул(а) вас</translation>
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
    <name>PortalKey</name>
    <message>
        <source>Push to talk</source>
        <translation>Нажми и говори</translation>
    </message>
</context>
<context>
    <name>RelayWords</name>
    <message>
        <source>No relay server works, so calls through strict NATs or firewalls will not connect.</source>
        <translation>Ни один сервер-ретранслятор не работает, поэтому звонки через строгие NAT и межсетевые экраны не соединятся.</translation>
    </message>
    <message numerus="yes">
        <source>None of the %n relay server addresses works, so calls through strict NATs or firewalls will not connect.</source>
        <translation>
            <numerusform>Ни один из %n адреса сервера-ретранслятора не работает, поэтому звонки через строгие NAT и межсетевые экраны не соединятся.</numerusform>
            <numerusform>Ни один из %n адресов сервера-ретранслятора не работает, поэтому звонки через строгие NAT и межсетевые экраны не соединятся.</numerusform>
            <numerusform>Ни один из %n адресов сервера-ретранслятора не работает, поэтому звонки через строгие NAT и межсетевые экраны не соединятся.</numerusform>
        </translation>
    </message>
    <message>
        <source>it refused our credentials (the Voxroom server&apos;s TURN secret is not the relay&apos;s)</source>
        <translation>он не принял наши учётные данные (секрет TURN у сервера Voxroom не тот, что у ретранслятора)</translation>
    </message>
    <message>
        <source>it refused a relay ({answer})</source>
        <translation>он отказал в ретрансляции ({answer})</translation>
    </message>
    <message>
        <source>no answer within {seconds} s (blocked on this network, or down)</source>
        <translation>нет ответа за {seconds} с (заблокирован в этой сети или не работает)</translation>
    </message>
    <message>
        <source>its TLS certificate is not trusted ({reason})</source>
        <translation>его TLS-сертификату нет доверия ({reason})</translation>
    </message>
    <message>
        <source>nothing listens there (connection refused)</source>
        <translation>там ничего не слушает (соединение отклонено)</translation>
    </message>
    <message>
        <source>cannot reach it ({error})</source>
        <translation>до него не достучаться ({error})</translation>
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
    <name>SettingsDialog</name>
    <message>
        <source>Audio settings</source>
        <translation>Настройки звука</translation>
    </message>
    <message>
        <source>Microphone</source>
        <translation>Микрофон</translation>
    </message>
    <message>
        <source>Speaker</source>
        <translation>Динамик</translation>
    </message>
    <message>
        <source>Play test tone</source>
        <translation>Тестовый сигнал</translation>
    </message>
    <message>
        <source>Play a test tone on the speaker</source>
        <translation>Проиграть тестовый сигнал в динамике</translation>
    </message>
    <message>
        <source>Echo cancellation</source>
        <translation>Подавление эха</translation>
    </message>
    <message>
        <source>Noise suppression</source>
        <translation>Шумоподавление</translation>
    </message>
    <message>
        <source>Voice activity</source>
        <translation>По голосу</translation>
    </message>
    <message>
        <source>Push to talk</source>
        <translation>Нажми и говори</translation>
    </message>
    <message>
        <source>Voice activity threshold</source>
        <translation>Порог срабатывания по голосу</translation>
    </message>
    <message>
        <source>Push-to-talk key</source>
        <translation>Клавиша «нажми и говори»</translation>
    </message>
    <message>
        <source>Voice quality</source>
        <translation>Качество голоса</translation>
    </message>
    <message>
        <source>{kbps} kbit/s</source>
        <translation>{kbps} кбит/с</translation>
    </message>
    <message>
        <source>Sounds for joins, leaves, mute and unmute</source>
        <translation>Звуки входа, выхода, выключения и включения микрофона</translation>
    </message>
    <message>
        <source>Sound volume</source>
        <translation>Громкость звуков</translation>
    </message>
    <message>
        <source>{percent}%</source>
        <translation>{percent} %</translation>
    </message>
    <message>
        <source>Closing the window keeps the call in the tray</source>
        <translation>При закрытии окна звонок продолжается в трее</translation>
    </message>
    <message>
        <source>This desktop has no tray: closing the window quits</source>
        <translation>На этом рабочем столе нет трея: закрытие окна завершает программу</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>Устройства</translation>
    </message>
    <message>
        <source>&amp;Microphone</source>
        <translation>&amp;Микрофон</translation>
    </message>
    <message>
        <source>&amp;Speaker</source>
        <translation>&amp;Динамик</translation>
    </message>
    <message>
        <source>Input level</source>
        <translation>Уровень входа</translation>
    </message>
    <message>
        <source>Voice processing</source>
        <translation>Обработка голоса</translation>
    </message>
    <message>
        <source>Transmit</source>
        <translation>Передача</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>Порог</translation>
    </message>
    <message>
        <source>Key</source>
        <translation>Клавиша</translation>
    </message>
    <message>
        <source>&amp;Quality</source>
        <translation>&amp;Качество</translation>
    </message>
    <message>
        <source>Sounds</source>
        <translation>Звуки</translation>
    </message>
    <message>
        <source>&amp;Volume</source>
        <translation>&amp;Громкость</translation>
    </message>
    <message>
        <source>Window</source>
        <translation>Окно</translation>
    </message>
    <message>
        <source>No sound output (started with --no-audio)</source>
        <translation>Нет вывода звука (запущено с --no-audio)</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>Системное по умолчанию</translation>
    </message>
    <message>
        <source>{device} (not connected)</source>
        <translation>{device} (не подключено)</translation>
    </message>
    <message>
        <source>{dbfs} dBFS</source>
        <translation>{dbfs} дБFS</translation>
    </message>
    <message>
        <source>Playing…</source>
        <translation>Играет…</translation>
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
