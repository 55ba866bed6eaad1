#!/bin/sh
# Adds Voxroom to this user's application menu: the .desktop entry (pointing at this folder's
# voxroom) and its icon, under ~/.local/share. Run it again after moving the folder;
# --remove takes them away. Needs nothing but a POSIX shell.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps="$data/applications"
icons="$data/icons/hicolor/256x256/apps"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$apps/voxroom.desktop" "$icons/voxroom.png"
  echo "Removed Voxroom from the application menu."
  exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/share/icons/hicolor/256x256/apps/voxroom.png" "$icons/voxroom.png"
sed -e "s|^Exec=voxroom|Exec=\"$here/voxroom\"|" -e "s|^TryExec=voxroom|TryExec=$here/voxroom|" \
  "$here/share/applications/voxroom.desktop" > "$apps/voxroom.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
echo "Voxroom is in the application menu (entry: $apps/voxroom.desktop)."
