# Builds, tests and installs ringwarden. Every target finds a JDK 25+ by itself (tools/find-jdk).
SHELL := /bin/bash
JAVA_HOME := $(shell tools/find-jdk)
export JAVA_HOME
MVN ?= mvn -B
# Maven's bundled Guava uses sun.misc.Unsafe; JDK 25 warns about it on every run.
export MAVEN_OPTS := $(MAVEN_OPTS) --sun-misc-unsafe-memory-access=allow

.PHONY: all build test bench clean check-jdk install uninstall
all: build

check-jdk:
	@test -n "$(JAVA_HOME)" || { tools/find-jdk >/dev/null; exit 1; }

build: check-jdk
	$(MVN) -DskipTests package

# Every test: unit, kernel, end-to-end (needs root for the second-user tests).
test: check-jdk
	$(MVN) verify

bench: check-jdk
	bench/run

clean:
	$(MVN) clean

# Installs the built jars, launcher, systemd units, sysusers/tmpfiles entries, man pages, bash
# completion and examples under $(DESTDIR)$(PREFIX) (see docs/install.md and tools/install.sh).
# Builds first only when the build outputs are missing; never needs root with DESTDIR set;
# starts nothing and creates no user.
PREFIX ?= /usr
DESTDIR ?=
export PREFIX DESTDIR

install:
	@tools/install.sh check 2>/dev/null || $(MAKE) build
	tools/install.sh install

uninstall:
	tools/install.sh uninstall
