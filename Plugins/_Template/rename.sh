#!/usr/bin/env bash
# Turns a copy of Plugins/_Template into your own plugin package.
#   cp -r Plugins/_Template ~/src/acme && cd ~/src/acme && ./rename.sh Acme acme /path/to/EmoKit
# Name: UpperCamelCase (module and type prefix); id: [a-z0-9-]+ (plugin id and component id prefix).
set -euo pipefail
name=${1:?usage: rename.sh Name id /path/to/EmoKit}
id=${2:?usage: rename.sh Name id /path/to/EmoKit}
emokit=${3:?usage: rename.sh Name id /path/to/EmoKit}
[[ $name =~ ^[A-Z][A-Za-z0-9]*$ ]] || { echo "Name must be UpperCamelCase, got '$name'" >&2; exit 2; }
[[ $id =~ ^[a-z0-9-]+$ ]] || { echo "id must match [a-z0-9-]+, got '$id'" >&2; exit 2; }
emokit=$(cd "$emokit" && pwd)
sed -e "s|@EMOKIT_PATH@|$emokit|" -e "s|@EMOKIT_PACKAGE@|$(basename "$emokit" | tr 'A-Z' 'a-z')|" \
    -e "s/Template/$name/g" Package.swift.template > Package.swift
rm Package.swift.template
for f in Sources/*.swift Export/*.swift README.md; do
  sed -i -e "s/Template/$name/g" -e "s/template-/$id-/g" -e "s/\"template\"/\"$id\"/g" "$f"
done
for f in Sources/Template*.swift; do mv "$f" "${f/Template/$name}"; done
echo "Renamed to $name ($id). Build with: swift build -c release"
