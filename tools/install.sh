#!/usr/bin/env bash
# Installs or uninstalls a built ringwarden (called by `make install` / `make uninstall`).
#
#   tools/install.sh check      exit 0 when everything install needs is built
#   tools/install.sh install    copy the build into $DESTDIR$PREFIX (and /etc: nothing)
#   tools/install.sh uninstall  remove exactly what install puts there
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
units=(ringwarden.service ringwarden.socket ringwarden-admin.socket)

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

# The JVM's start-up cache for the installed jars (tools/aot-cache). The JVM checks the class
# path it was made with, so it is made only where the jars are at their final path (no
# DESTDIR); a packager makes it on the target system (docs/install.md). Failing to make it
# only costs start-up time.
aot_cache() {
  if [ -n "$DESTDIR" ]; then
    echo "install.sh: note: no start-up cache under DESTDIR; on the target system run: $root/tools/aot-cache JAVA_HOME '$LIBDIR/*' $LIBDIR/ringwarden.aot \"<jvm_opts of $BINDIR/ringwarden>\"" >&2
    return 0
  fi
  local java_home opts
  java_home=$("$root/tools/find-jdk" 2>/dev/null) || { echo "install.sh: note: no JDK 25+: no start-up cache" >&2; return 0; }
  opts=$(sed -n 's/^jvm_opts="\(.*\)"$/\1/p' "$root/systemd/ringwarden.in")
  "$root/tools/aot-cache" "$java_home" "$LIBDIR/*" "$LIBDIR/ringwarden.aot" "$opts" || true
}

do_install() {
  check || die "run 'make build' first"
  local d=$DESTDIR
  # The jars: replace the directory as a whole, so an upgrade leaves no jar of the old version
  # on the launcher's classpath ('$LIBDIR/*').
  rm -rf "$d$LIBDIR"
  install -d -m 0755 "$d$LIBDIR"
  install -m 0644 "$(daemon_jar)" "$target"/lib/*.jar "$d$LIBDIR/"

  aot_cache

  install -d -m 0755 "$d$BINDIR"
  sed "s|@LIBDIR@|$LIBDIR|g" "$root/systemd/ringwarden.in" > "$d$BINDIR/ringwarden.tmp"
  chmod 0755 "$d$BINDIR/ringwarden.tmp"
  mv -f "$d$BINDIR/ringwarden.tmp" "$d$BINDIR/ringwarden"

  install -d -m 0755 "$d$UNITDIR"
  for u in "${units[@]}"; do
    sed -e "s|/usr/bin/ringwarden|$BINDIR/ringwarden|g" \
        -e "s|file:///usr/share/doc/ringwarden/|file://$DOCDIR/|g" \
        "$root/systemd/$u" > "$d$UNITDIR/$u"
    chmod 0644 "$d$UNITDIR/$u"
  done
  install -D -m 0644 "$root/systemd/sysusers.d/ringwarden.conf" "$d$SYSUSERSDIR/ringwarden.conf"
  install -D -m 0644 "$root/systemd/tmpfiles.d/ringwarden.conf" "$d$TMPFILESDIR/ringwarden.conf"

  install -d -m 0755 "$d$MANDIR/man1"
  install -m 0644 "$docs"/man/*.1 "$d$MANDIR/man1/"
  install -D -m 0644 "$docs/bash-completion/ringwarden" "$d$BASHCOMPDIR/ringwarden"

  # Documentation and examples: the whole directory is ours.
  rm -rf "$d$DOCDIR"
  install -d -m 0755 "$d$DOCDIR/examples/policies"
  install -m 0644 "$root/docs/install.md" "$d$DOCDIR/"
  if compgen -G "$docs/man-adoc/*.adoc" >/dev/null; then
    install -d -m 0755 "$d$DOCDIR/man-adoc"
    install -m 0644 "$docs"/man-adoc/*.adoc "$d$DOCDIR/man-adoc/"
  fi
  if compgen -G "$root/policies/examples/*.json" >/dev/null; then
    install -m 0644 "$root"/policies/examples/*.json "$d$DOCDIR/examples/policies/"
  else
    echo "install.sh: note: no policies/examples/*.json in this checkout; no example policies installed" >&2
  fi
  local gid example=$d$DOCDIR/examples/60-ringwarden.conf.example
  gid=$(ringwarden_gid)
  if [ -n "$gid" ]; then
    sed "s/@RINGWARDEN_GID@/$gid/" "$root/systemd/sysctl.d/60-ringwarden.conf.example" > "$example"
  else
    cp "$root/systemd/sysctl.d/60-ringwarden.conf.example" "$example"
  fi
  chmod 0644 "$example"

  cat <<MSG
Installed ringwarden into ${DESTDIR:-/}$PREFIX (nothing started). Next steps on the target system:
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
  local d=$DESTDIR
  if [ -z "$d" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    if systemctl -q is-active ringwarden.service ringwarden.socket ringwarden-admin.socket 2>/dev/null \
       || systemctl -q is-enabled ringwarden.service ringwarden.socket ringwarden-admin.socket 2>/dev/null; then
      echo "install.sh: warning: ringwarden units are still active or enabled; run first:" >&2
      echo "  systemctl disable --now ringwarden.service ringwarden.socket ringwarden-admin.socket" >&2
    fi
  fi
  rm -rf "$d$LIBDIR" "$d$DOCDIR"
  rm -f "$d$BINDIR/ringwarden" "$d$SYSUSERSDIR/ringwarden.conf" "$d$TMPFILESDIR/ringwarden.conf" \
        "$d$BASHCOMPDIR/ringwarden"
  for u in "${units[@]}"; do rm -f "$d$UNITDIR/$u"; done
  # Every man page is named after a command of ours: ringwarden.1, ringwarden-<sub>.1.
  rm -f "$d$MANDIR/man1/ringwarden.1" "$d$MANDIR"/man1/ringwarden-*.1
  echo "Uninstalled ringwarden from ${DESTDIR:-/}$PREFIX. Left in place: /etc/ringwarden (configuration), the user and groups (systemd-sysusers never removes them), /etc/sysctl.d/60-ringwarden.conf if you created it."
}

case "${1:-}" in
  check) check ;;
  install) do_install ;;
  uninstall) do_uninstall ;;
  *) die "usage: tools/install.sh check|install|uninstall" ;;
esac
