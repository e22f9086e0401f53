#!/usr/bin/env bash
# Vendor the front-end libraries the pages use into src/yiwang/web/static/vendor/ from the npm
# registry (never a CDN: government networks are closed). The result is committed; run this again
# only to upgrade. Versions are pinned here — bump them on purpose:
#   npm view htmx.org versions   /   npm view echarts versions   /   npm view swagger-ui-dist versions
# swagger-ui-dist and redoc serve the API reference at /docs and /redoc (see yiwang.web.apidocs).
# Override for a one-off try: HTMX_VERSION=2.0.x ECHARTS_VERSION=6.x scripts/vendor_static.sh
set -euo pipefail

HTMX_VERSION="${HTMX_VERSION:-2.0.11}"
ECHARTS_VERSION="${ECHARTS_VERSION:-6.1.0}"
SWAGGER_UI_VERSION="${SWAGGER_UI_VERSION:-5.35.0}"
REDOC_VERSION="${REDOC_VERSION:-2.5.4}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/src/yiwang/web/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# vendor_pkg NAME VERSION DEST_SUBDIR FILE_IN_PACKAGE...
vendor_pkg() {
  local name="$1" version="$2" sub="$3"
  local dest="$VENDOR/$sub" work="$TMP/$sub"
  shift 3
  mkdir -p "$work"
  # Resolve a range (e.g. 2.0.x) to the exact version npm would pick.
  local exact
  exact="$(npm view "$name@$version" version --json 2>/dev/null | tr -d '[]" \n' | awk -F, '{print $NF}')"
  if [ -z "$exact" ]; then
    echo "no version of $name matches $version" >&2
    exit 1
  fi
  (cd "$work" && npm pack --silent "$name@$exact" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work"
  rm -rf "$dest"
  mkdir -p "$dest"
  local f
  for f in "$@"; do
    cp "$work/package/$f" "$dest/$(basename "$f")"
  done
  if [ "$name" = redoc ]; then
    # ReDoc's sidebar shows a "powered by" logo fetched from cdn.redoc.ly; on a closed network that
    # request must not happen at all. An empty data: URL makes the <img> fail at once, and ReDoc then
    # hides it (its onError handler). The only change made to any vendored file.
    sed -i 's#"https://cdn.redoc.ly/redoc/logo-mini.svg"#"data:,"#' "$dest/redoc.standalone.js"
    grep -q 'cdn.redoc.ly' "$dest/redoc.standalone.js" && { echo "redoc still names cdn.redoc.ly" >&2; exit 1; }
  fi
  # Licence (and NOTICE, where the package has one) travel with the code.
  for f in LICENSE LICENSE.md LICENSE.txt NOTICE; do
    if [ -f "$work/package/$f" ]; then
      cp "$work/package/$f" "$dest/$f"
    fi
  done
  echo "$name $exact $(cd "$dest" && sha256sum "$(basename "$1")" | cut -d' ' -f1)" >>"$TMP/VERSIONS.txt"
  echo "vendored $name@$exact into ${dest#"$ROOT"/}"
}

: >"$TMP/VERSIONS.txt"
vendor_pkg htmx.org "$HTMX_VERSION" htmx dist/htmx.min.js
vendor_pkg echarts "$ECHARTS_VERSION" echarts dist/echarts.min.js
vendor_pkg swagger-ui-dist "$SWAGGER_UI_VERSION" swagger-ui \
  swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png
vendor_pkg redoc "$REDOC_VERSION" redoc bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt

{
  echo "# Vendored by scripts/vendor_static.sh from the npm registry: package version sha256(main file)"
  cat "$TMP/VERSIONS.txt"
} >"$VENDOR/VERSIONS.txt"
cat "$VENDOR/VERSIONS.txt"
