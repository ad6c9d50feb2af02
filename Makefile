# reprint — GNU Makefile.  `make` builds build/reprint, build/libreprint.a and
# build/libreprint.so; `make test` builds everything with ASan+UBSan and runs
# every test; `make demo`, `make bench`, `make fuzz`, `make install PREFIX=...`.
CC      ?= gcc
PREFIX  ?= /usr/local
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE
CPPFLAGS += -Iinclude -Isrc
LDLIBS  := -lutf8proc -lxxhash -lisal -lzstd -lz -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TSAN    := -fsanitize=thread

LIB_SRC := $(sort $(wildcard src/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/t_*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=build/obj/%.o)
CLI_OBJ := $(CLI_SRC:cli/%.c=build/obj/cli_%.o)
SAN_LIB_OBJ := $(LIB_SRC:src/%.c=build/san/%.o)
SAN_CLI_OBJ := $(CLI_SRC:cli/%.c=build/san/cli_%.o)
TSAN_LIB_OBJ := $(LIB_SRC:src/%.c=build/tsan/%.o)
TSAN_CLI_OBJ := $(CLI_SRC:cli/%.c=build/tsan/cli_%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=build/san/%)

.PHONY: all deps test demo bench fuzz install clean
all: build/reprint build/libreprint.a build/libreprint.so

deps:
	@sh scripts/deps.sh

build/obj/%.o: src/%.c include/reprint.h $(wildcard src/*.h) | build/obj
	$(CC) $(WARN) $(CFLAGS) -fPIC $(CPPFLAGS) -c $< -o $@
build/obj/cli_%.o: cli/%.c include/reprint.h $(wildcard cli/*.h) | build/obj
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -c $< -o $@
build/libreprint.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
build/libreprint.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)
build/reprint: $(CLI_OBJ) build/libreprint.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) build/libreprint.a $(LDLIBS)

# Sanitizer build used by the tests.
build/san/%.o: src/%.c include/reprint.h $(wildcard src/*.h) | build/san
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -c $< -o $@
build/san/cli_%.o: cli/%.c include/reprint.h $(wildcard cli/*.h) | build/san
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -c $< -o $@
build/san/libreprint.a: $(SAN_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
build/san/reprint: $(SAN_CLI_OBJ) build/san/libreprint.a
	$(CC) $(SAN) -o $@ $(SAN_CLI_OBJ) build/san/libreprint.a $(LDLIBS)
build/san/t_%: tests/t_%.c $(wildcard tests/*.h) build/san/libreprint.a
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -Itests -o $@ $< build/san/libreprint.a $(LDLIBS)

# ThreadSanitizer build of the command (tests/cli_threads.sh runs it).
build/tsan/%.o: src/%.c include/reprint.h $(wildcard src/*.h) | build/tsan
	$(CC) $(WARN) -O1 -g $(TSAN) $(CPPFLAGS) -c $< -o $@
build/tsan/cli_%.o: cli/%.c include/reprint.h $(wildcard cli/*.h) | build/tsan
	$(CC) $(WARN) -O1 -g $(TSAN) $(CPPFLAGS) -c $< -o $@
build/tsan/reprint: $(TSAN_CLI_OBJ) $(TSAN_LIB_OBJ)
	$(CC) $(TSAN) -o $@ $(TSAN_CLI_OBJ) $(TSAN_LIB_OBJ) $(LDLIBS)

build/obj build/san build/tsan:
	mkdir -p $@

test: deps
	@$(MAKE) --no-print-directory build/san/reprint build/tsan/reprint $(TEST_BIN) build/reprint
	@sh tests/run.sh $(TEST_BIN)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh

# Fuzz targets fuzz/fuzz_*.c: `make fuzz` runs them under libFuzzer with clang
# (fuzz/run.sh; FUZZ_SECONDS each, default 60); `make test` replays their
# committed corpora fuzz/corpus/<target>/ built with gcc and ASan+UBSan
# (fuzz/replay.c is their main; tests/cli_fuzz_replay.sh runs them).
FUZZ_BIN := $(patsubst fuzz/fuzz_%.c,build/san/fuzz_%,$(wildcard fuzz/fuzz_*.c))
build/san/fuzz_reader: FUZZ_LDFLAGS := -Wl,--wrap=read # it cuts the library's reads short
build/san/fuzz_%: fuzz/fuzz_%.c fuzz/replay.c fuzz/fuzz.h build/san/libreprint.a
	$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -o $@ $< fuzz/replay.c build/san/libreprint.a $(FUZZ_LDFLAGS) $(LDLIBS)
test: $(FUZZ_BIN)

fuzz: deps
	@sh fuzz/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 build/reprint $(DESTDIR)$(PREFIX)/bin/
	install -m 644 build/libreprint.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 build/libreprint.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/reprint.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 docs/reprint.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|'"$$(sed -n 's/^#define RP_VERSION "\(.*\)"/\1/p' include/reprint.h)"'|' \
	  reprint.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/reprint.pc

clean:
	rm -rf build
