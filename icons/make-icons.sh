#!/usr/bin/env bash
# Draws Tether's icons with ImageMagick: the app icon (a link of two rings on
# a blue tile), the tray icons by state (the link alone, with a dot: none when
# all is well, amber when a server needs sign-in, red on an error), light and
# dark variants for Linux and Windows panels, and macOS template icons (black
# on transparent; the menu bar recolours them). Re-run after changing a shape.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

link() { # $1 colour, $2 stroke width (on a 1024 canvas)
  echo "-fill none -stroke $1 -strokewidth $2 \
    -draw 'roundrectangle 170,380 610,640 130,130' \
    -draw 'roundrectangle 414,384 854,644 130,130'"
}

# App icon: white link on a blue rounded tile.
eval convert -size 1024x1024 xc:none -fill "'#2563eb'" -draw "'roundrectangle 64,64 960,960 200,200'" \
  "$(link white 84)" PNG32:icon.png
for s in 32 64 128 256 512; do convert icon.png -resize ${s}x${s} PNG32:${s}x${s}.png; done
convert icon.png -resize 256x256 PNG32:128x128@2x.png
convert icon.png -define icon:auto-resize=256,128,64,48,32,16 icon.ico

# The tray glyph is drawn bigger and thinner than the app's, to stay open at 16–22 px.
tray_link() { # $1 colour
  echo "-fill none -stroke $1 -strokewidth 90 \
    -draw 'roundrectangle 60,330 590,694 182,182' \
    -draw 'roundrectangle 434,330 964,694 182,182'"
}
tray() { # $1 name, $2 link colour, $3 dot colour or none
  local dot=""
  if [ "$3" != none ]; then dot="-stroke none -fill '$3' -draw 'circle 830,830 830,1010'"; fi
  eval convert -size 1024x1024 xc:none "$(tray_link "'$2'")" "$dot" -resize 64x64 PNG32:tray-$1.png
}
for variant in light dark; do
  if [ $variant = light ]; then c='#1f2937'; else c='#f3f4f6'; fi   # dark glyph for light panels, and back
  tray ok-$variant "$c" none
  tray needs-sign-in-$variant "$c" '#f59e0b'
  tray error-$variant "$c" '#dc2626'
done
# macOS template icons: black and alpha only; the state shows as a hollow or filled dot.
tray ok-template black none
eval convert -size 1024x1024 xc:none "$(tray_link black)" -fill none -stroke black -strokewidth 60 \
  -draw "'circle 830,830 830,990'" -resize 64x64 PNG32:tray-needs-sign-in-template.png
eval convert -size 1024x1024 xc:none "$(tray_link black)" -stroke none -fill black \
  -draw "'circle 830,830 830,1010'" -resize 64x64 PNG32:tray-error-template.png
