# The dualsync C library: a build of this crate with the `capi` feature and
# the C crate types, and its installation (header, static and shared
# libraries, pkg-config file). Linux / ELF.
#
#   make                                  # build target/release/libdualsync.{a,so}
#   make install PREFIX=/usr/local        # install (DESTDIR= for staging)
#   make install-static / install-shared  # only one of the two libraries
#   make uninstall PREFIX=/usr/local
#   make header                           # regenerate include/dualsync.h (commit it)
#   make check-header                     # fail if include/dualsync.h is stale
#   make check                            # build and run c-examples/ against the build
#
# `make` runs one cargo command (the "one command away" for C users who do
# not want make):
#
#   cargo rustc --lib --profile release --features capi \
#       --crate-type staticlib,cdylib -- -C link-arg=-Wl,-soname,libdualsync.so.0
#
# The `capi` feature makes build.rs generate the header with cbindgen and
# fail when include/dualsync.h is stale, so the installed header always
# describes the installed library. Everything built or generated goes under
# the cargo target dir (git-ignored): nothing is written in the source tree
# except by `make header`.
#
# Variables: PREFIX (/usr/local), EXEC_PREFIX, LIBDIR, INCLUDEDIR,
# PKGCONFIGDIR, DESTDIR, PROFILE (release; dev for a debug build),
# CARGO_TARGET_DIR (target), CARGO, RUSTC, INSTALL.

PREFIX       ?= /usr/local
EXEC_PREFIX  ?= $(PREFIX)
LIBDIR       ?= $(EXEC_PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=
PROFILE      ?= release
CARGO        ?= cargo
RUSTC        ?= rustc
INSTALL      ?= install
CARGO_TARGET_DIR ?= $(CURDIR)/target

# The crate version (first `version = "..."` of Cargo.toml: [package]'s)
# and the ABI version, from the header the library is checked against.
VERSION := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
ABI     := $(shell sed -n 's/^\#define DUALSYNC_ABI_VERSION \([0-9][0-9]*\)$$/\1/p' include/dualsync.h)
SONAME  := libdualsync.so.$(ABI)
# cargo's output directory for PROFILE (`dev` builds go to `debug`).
OUT     := $(CARGO_TARGET_DIR)/$(if $(filter dev test,$(PROFILE)),debug,$(PROFILE))

ifeq ($(VERSION),)
$(error could not read the version from Cargo.toml)
endif

export CARGO_TARGET_DIR

.PHONY: all lib pc header check-header check-abi check install install-static install-shared \
        install-header install-pc uninstall FORCE

all: lib

# cargo decides what is out of date; this always asks it. The SONAME link
# argument only reaches the cdylib (rustc does not link a staticlib).
# `libdualsync.so.$(ABI)` next to the build lets programs linked against the
# uninstalled library (rpath to $(OUT)) find it under its SONAME.
lib: check-abi
	$(CARGO) rustc --lib --profile $(PROFILE) --features capi \
	    --crate-type staticlib,cdylib -- -C link-arg=-Wl,-soname,$(SONAME)
	ln -sf libdualsync.so $(OUT)/$(SONAME)

# The pkg-config file for this PREFIX. Libs.private is what Rust's std
# inside libdualsync.a needs, as rustc reports it for this toolchain and
# target (dualsync's own dependencies link no native library).
pc: $(OUT)/dualsync.pc
$(OUT)/dualsync.pc: dualsync.pc.in FORCE
	@mkdir -p $(OUT)/native-static-libs
	@libs=$$(printf '' | $(RUSTC) --crate-type staticlib --crate-name dualsync_probe \
	        --print native-static-libs --out-dir $(OUT)/native-static-libs - 2>&1 \
	        | sed -n 's/.*native-static-libs: //p'); \
	if [ -z "$$libs" ]; then echo "could not get native-static-libs from $(RUSTC)" >&2; exit 1; fi; \
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e "s|@LIBS_PRIVATE@|$$libs|g" dualsync.pc.in > $@.tmp && mv $@.tmp $@
	@echo "generated $@"

# (`make header` works with any include/dualsync.h, even one without the
# ABI version yet.)
header:
	DUALSYNC_HEADER_OUT=$(CURDIR)/include/dualsync.h $(CARGO) check --lib --features capi

check-header:
	$(CARGO) check --lib --features capi

check-abi:
	@test -n "$(ABI)" || { echo "include/dualsync.h has no #define DUALSYNC_ABI_VERSION: run make header" >&2; exit 1; }

check: lib
	$(MAKE) -C c-examples check LIBDIR=$(OUT) INCDIR=$(CURDIR)/include

install: install-static install-shared

install-header:
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR)
	$(INSTALL) -m 644 include/dualsync.h $(DESTDIR)$(INCLUDEDIR)/dualsync.h

install-pc: pc
	$(INSTALL) -d $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 644 $(OUT)/dualsync.pc $(DESTDIR)$(PKGCONFIGDIR)/dualsync.pc

install-static: lib install-header install-pc
	$(INSTALL) -d $(DESTDIR)$(LIBDIR)
	$(INSTALL) -m 644 $(OUT)/libdualsync.a $(DESTDIR)$(LIBDIR)/libdualsync.a

# libdualsync.so.$(VERSION) is the file; libdualsync.so.$(ABI) (the SONAME,
# what programs load) and libdualsync.so (what `-ldualsync` finds) link to it.
install-shared: lib install-header install-pc
	$(INSTALL) -d $(DESTDIR)$(LIBDIR)
	$(INSTALL) -m 755 $(OUT)/libdualsync.so $(DESTDIR)$(LIBDIR)/libdualsync.so.$(VERSION)
	ln -sf libdualsync.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libdualsync.so

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/dualsync.h $(DESTDIR)$(PKGCONFIGDIR)/dualsync.pc \
	    $(DESTDIR)$(LIBDIR)/libdualsync.a $(DESTDIR)$(LIBDIR)/libdualsync.so \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libdualsync.so.$(VERSION)

FORCE:
