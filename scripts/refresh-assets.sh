#!/usr/bin/env bash
# Refreshes the Bootstrap Italia files embedded in the binary from the npm package at a pinned version.
# Building civico needs Go alone: the output is committed under internal/web/static/vendor.
# Usage: scripts/refresh-assets.sh [VERSION]
set -euo pipefail
version=${1:-2.18.3}
top=$(cd "$(dirname "$0")/.." && pwd)
dest="$top/internal/web/static/vendor/bootstrap-italia"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "bootstrap-italia@$version" >/dev/null)
tar -xzf "$work/bootstrap-italia-$version.tgz" -C "$work"
dist="$work/package/dist"

rm -rf "$dest"
mkdir -p "$dest/css" "$dest/svg" "$dest/fonts"
cp "$dist/css/bootstrap-italia.min.css" "$dest/css/"
# The national validator (criterion C.SI.1.2) reads the library's version from
# :root's --bootstrap-italia-version stripping double quotes only; the package
# writes it in single quotes, which it rejects: write it in double quotes.
sed -i "s/--bootstrap-italia-version: *'\([0-9.]*\)'/--bootstrap-italia-version: \"\1\"/" "$dest/css/bootstrap-italia.min.css"
grep -q -- "--bootstrap-italia-version: \"$version\"" "$dest/css/bootstrap-italia.min.css" ||
  { echo "refresh-assets: no --bootstrap-italia-version \"$version\" in the stylesheet" >&2; exit 1; }
cp "$dist/svg/sprites.svg" "$dest/svg/"
# Only the woff2 faces the portal's fonts.css declares: every browser civico supports reads woff2.
for family in Titillium_Web Roboto_Mono Lora; do
  mkdir -p "$dest/fonts/$family"
  cp "$dist/fonts/$family/"*.woff2 "$dest/fonts/$family/"
  cp "$dist/fonts/$family/"*.txt "$dest/fonts/$family/"
done
cp "$work/package/LICENSE" "$dest/LICENSE" 2>/dev/null || true
echo "$version" > "$dest/VERSION"
echo "bootstrap-italia $version copied to ${dest#"$top/"}"
