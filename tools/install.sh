#!/usr/bin/env bash
# Installs or uninstalls a built ringwarden (called by `make install` / `make uninstall`).
#
#   tools/install.sh check      exit 0 when everything install needs is built
#   tools/install.sh install    copy the build into $DESTDIR$PREFIX (and /etc: nothing)
#   tools/install.sh uninstall  remove exactly what install put there (its manifest,
#                               $LIBDIR/installed-files), nothing an administrator added
#
# Variables (environment): DESTDIR (staging root, default empty), PREFIX (default /usr), and
# BINDIR LIBDIR UNITDIR SYSUSERSDIR TMPFILESDIR MANDIR DOCDIR BASHCOMPDIR derived from it.
# Paths written into installed files (the launcher's jar directory, the units' ExecStart) are
# the final ones, without DESTDIR. Nothing is started, no user is created, nothing outside
# these directories is touched: that is the packager's (or administrator's) next step,
# printed at the end and described in docs/install.md.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
BINDIR=${BINDIR:-$PREFIX/bin}
LIBDIR=${LIBDIR:-$PREFIX/lib/ringwarden}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$PREFIX/lib/sysusers.d}
TMPFILESDIR=${TMPFILESDIR:-$PREFIX/lib/tmpfiles.d}
MANDIR=${MANDIR:-$PREFIX/share/man}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/ringwarden}
BASHCOMPDIR=${BASHCOMPDIR:-$PREFIX/share/bash-completion/completions}

target=$root/daemon/target
docs=$target/docs
units=(ringwarden.service ringwarden.socket ringwarden-admin.socket ringwarden-oci-agent.socket ringwarden-refusals.service)

die() { echo "install.sh: $*" >&2; exit 1; }

daemon_jar() {
  ls "$target"/ringwarden-daemon-*.jar 2>/dev/null | grep -v -- '-sources\|-javadoc\|-tests' | head -n 1 || true
}

check() { # what install needs, all from `mvn package` of the daemon module
  local missing=()
  [ -n "$(daemon_jar)" ] || missing+=("daemon/target/ringwarden-daemon-*.jar")
  compgen -G "$target/lib/*.jar" >/dev/null || missing+=("daemon/target/lib/*.jar")
  [ -f "$docs/man/ringwarden.1" ] || missing+=("daemon/target/docs/man/ringwarden.1")
  [ -f "$docs/bash-completion/ringwarden" ] || missing+=("daemon/target/docs/bash-completion/ringwarden")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "install.sh: not built yet: ${missing[*]}" >&2
    return 1
  fi
}

# The gid of group ringwarden in the target system, or nothing: from the staging root's
# /etc/group when DESTDIR has one, else from the running system when installing into it.
ringwarden_gid() {
  if [ -n "$DESTDIR" ]; then
    [ -r "$DESTDIR/etc/group" ] && awk -F: '$1 == "ringwarden" { print $3 }' "$DESTDIR/etc/group"
  else
    getent group ringwarden | cut -d: -f3
  fi
  return 0
}

# The JVM's start-up caches for the installed jars (tools/aot-cache), one for every command
# and one for ringwarden run. The JVM checks the class path they were made with, so they are
# made only where the jars are at their final path (no DESTDIR); a packager makes them on the
# target system (docs/install.md). Failing to make them only costs start-up time.
aot_cache() {
  if [ -n "$DESTDIR" ]; then
    echo "install.sh: note: no start-up cache under DESTDIR (the JVM checks its class path); docs/install.md, \"The start-up cache\", says how a package makes $LIBDIR/ringwarden.aot and ringwarden-run.aot" >&2
    return 0
  fi
  local java_home opts
  java_home=$("$root/tools/find-jdk" 2>/dev/null) || { echo "install.sh: note: no JDK 25+: no start-up cache" >&2; return 0; }
  opts=$(sed -n 's/^jvm_opts="\(.*\)"$/\1/p' "$root/systemd/ringwarden.in")
  "$root/tools/aot-cache" "$java_home" "$LIBDIR/*" "$LIBDIR/ringwarden.aot" "$opts" || true
  # ringwarden run's own (the launcher gives it that command only).
  "$root/tools/aot-cache" "$java_home" "$LIBDIR/*" "$LIBDIR/ringwarden-run.aot" "$opts" run || true
  # Listed in the manifest when they were made: uninstall removes them with the jars.
  [ -s "$LIBDIR/ringwarden.aot" ] && echo "f $LIBDIR/ringwarden.aot" >> "$manifest_tmp"
  [ -s "$LIBDIR/ringwarden-run.aot" ] && echo "f $LIBDIR/ringwarden-run.aot" >> "$manifest_tmp"
  return 0
}

# The manifest: every file and directory install created, one final path (without DESTDIR) a
# line, directories marked "d ". uninstall removes exactly these, and install first removes
# what the previous install's manifest lists (an upgrade leaves none of the old files behind).
manifest_path() { echo "$LIBDIR/installed-files"; }
manifest_tmp=

# put MODE SOURCE DEST: installs one file (DEST a final path) and records it.
put() {
  local mode=$1 src=$2 dest=$3
  mkdirs "$(dirname "$dest")"
  install -m "$mode" "$src" "$DESTDIR$dest"
  echo "f $dest" >> "$manifest_tmp"
}

# put_text MODE DEST < text: as put, from standard input.
put_text() {
  local mode=$1 dest=$2
  mkdirs "$(dirname "$dest")"
  cat > "$DESTDIR$dest.tmp"
  chmod "$mode" "$DESTDIR$dest.tmp"
  mv -f "$DESTDIR$dest.tmp" "$DESTDIR$dest"
  echo "f $dest" >> "$manifest_tmp"
}

# mkdirs DIR: creates DIR and its missing parents (0755), recording those it created.
mkdirs() {
  local dir=$1 missing=() p=$1
  while [ "$p" != / ] && [ ! -d "$DESTDIR$p" ]; do missing=("$p" "${missing[@]}"); p=$(dirname "$p"); done
  [ -d "$DESTDIR/" ] || install -d -m 0755 "$DESTDIR/"
  for p in "${missing[@]}"; do
    install -d -m 0755 "$DESTDIR$p"
    echo "d $p" >> "$manifest_tmp"
  done
}

# Removes what a manifest lists: files first, then directories deepest first, and only those
# left empty (a directory that holds an administrator's file stays, and is named).
remove_listed() {
  local list=$1 kind path
  while read -r kind path; do
    if [ "$kind" = f ]; then rm -f "$DESTDIR$path"; fi
  done < "$list"
  { grep '^d ' "$list" || true; } | cut -c3- | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2- | while read -r path; do
    if [ -d "$DESTDIR$path" ] && ! rmdir "$DESTDIR$path" 2>/dev/null; then
      echo "install.sh: kept $DESTDIR$path: it holds files install did not put there" >&2
    fi
  done
}

do_install() {
  check || die "run 'make build' first"
  local d=$DESTDIR old
  old="$d$(manifest_path)"
  if [ -f "$old" ]; then
    # The previous install's files (an upgrade): exactly those, so no jar of the old version
    # stays on the launcher's classpath ('$LIBDIR/*') and nothing of the administrator's goes.
    local previous
    previous=$(mktemp)
    cp "$old" "$previous"
    remove_listed "$previous" 2>/dev/null
    rm -f "$previous"
  fi
  # Jars in the jar directory that no manifest lists (an install before manifests, or a copy
  # by hand) would be on the launcher's classpath too: those alone are removed.
  if compgen -G "$d$LIBDIR/*.jar" >/dev/null; then
    rm -f "$d$LIBDIR"/*.jar
  fi
  manifest_tmp=$(mktemp)
  trap 'rm -f "$manifest_tmp"' EXIT

  local jar
  for jar in "$(daemon_jar)" "$target"/lib/*.jar; do
    put 0644 "$jar" "$LIBDIR/$(basename "$jar")"
  done
  aot_cache

  sed "s|@LIBDIR@|$LIBDIR|g" "$root/systemd/ringwarden.in" | put_text 0755 "$BINDIR/ringwarden"

  local u
  for u in "${units[@]}"; do
    sed -e "s|/usr/bin/ringwarden|$BINDIR/ringwarden|g" \
        -e "s|file:///usr/share/doc/ringwarden/|file://$DOCDIR/|g" \
        "$root/systemd/$u" | put_text 0644 "$UNITDIR/$u"
  done
  put 0644 "$root/systemd/sysusers.d/ringwarden.conf" "$SYSUSERSDIR/ringwarden.conf"
  put 0644 "$root/systemd/tmpfiles.d/ringwarden.conf" "$TMPFILESDIR/ringwarden.conf"

  local page
  for page in "$docs"/man/*.[0-9]; do
    put 0644 "$page" "$MANDIR/man${page##*.}/$(basename "$page")"
  done
  put 0644 "$docs/bash-completion/ringwarden" "$BASHCOMPDIR/ringwarden"

  # Documentation: every page of docs/, since they refer to one another (install.md to
  # configuration.md, security.md, ...), the AsciiDoc man pages, and the examples.
  local doc
  for doc in "$root"/docs/*.md; do
    put 0644 "$doc" "$DOCDIR/$(basename "$doc")"
  done
  if compgen -G "$docs/man-adoc/*.adoc" >/dev/null; then
    for doc in "$docs"/man-adoc/*.adoc; do
      put 0644 "$doc" "$DOCDIR/man-adoc/$(basename "$doc")"
    done
  fi
  mkdirs "$DOCDIR/examples/policies"
  if compgen -G "$root/policies/examples/*.json" >/dev/null; then
    for doc in "$root"/policies/examples/*.json; do
      put 0644 "$doc" "$DOCDIR/examples/policies/$(basename "$doc")"
    done
  else
    echo "install.sh: note: no policies/examples/*.json in this checkout; no example policies installed" >&2
  fi
  local gid
  gid=$(ringwarden_gid)
  if [ -n "$gid" ]; then
    sed "s/@RINGWARDEN_GID@/$gid/" "$root/systemd/sysctl.d/60-ringwarden.conf.example" | put_text 0644 "$DOCDIR/examples/60-ringwarden.conf.example"
  else
    put_text 0644 "$DOCDIR/examples/60-ringwarden.conf.example" < "$root/systemd/sysctl.d/60-ringwarden.conf.example"
  fi

  # The manifest lists itself, so that uninstall removes it last with the rest.
  echo "f $(manifest_path)" >> "$manifest_tmp"
  install -m 0644 "$manifest_tmp" "$d$(manifest_path)"

  cat <<MSG
Installed ringwarden into ${DESTDIR:-/}$PREFIX (nothing started; every file installed is listed in $(manifest_path)). Next steps on the target system:
  systemd-sysusers $SYSUSERSDIR/ringwarden.conf     # user ringwarden, group ringwarden-admin
  systemd-tmpfiles --create $TMPFILESDIR/ringwarden.conf
  systemctl daemon-reload
  systemctl enable --now ringwarden.socket ringwarden-admin.socket
  ringwarden doctor
MSG
  if [ -z "$gid" ]; then
    echo "  (group ringwarden does not exist yet: $DOCDIR/examples/60-ringwarden.conf.example keeps @RINGWARDEN_GID@; see docs/install.md)"
  fi
}

do_uninstall() {
  local d=$DESTDIR list
  if [ -z "$d" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    if systemctl -q is-active ringwarden.service ringwarden.socket ringwarden-admin.socket 2>/dev/null \
       || systemctl -q is-enabled ringwarden.service ringwarden.socket ringwarden-admin.socket 2>/dev/null; then
      echo "install.sh: warning: ringwarden units are still active or enabled; run first:" >&2
      echo "  systemctl disable --now ringwarden.service ringwarden.socket ringwarden-admin.socket" >&2
    fi
  fi
  [ -f "$d$(manifest_path)" ] || die "no manifest at $d$(manifest_path): nothing removed (was it installed with this PREFIX and DESTDIR, by a version that wrote one?)"
  list=$(mktemp)
  cp "$d$(manifest_path)" "$list"
  remove_listed "$list"
  rm -f "$list"
  echo "Uninstalled ringwarden from ${DESTDIR:-/}$PREFIX: exactly the files install listed. Left in place: /etc/ringwarden (configuration), /var/log/ringwarden (the audit trail), the user and groups (systemd-sysusers never removes them), /etc/sysctl.d/60-ringwarden.conf if you created it, and any file you added under the installed directories."
}

case "${1:-}" in
  check) check ;;
  install) do_install ;;
  uninstall) do_uninstall ;;
  *) die "usage: tools/install.sh check|install|uninstall" ;;
esac
