# The two commands of the README:
#   make demo   builds the library and runs the C demos: the store demo (8 threads on one store),
#               the device demo (8 threads on one SSH session, against a fake device that
#               examples-c/with_fleet.sh starts and stops around it) and the parallel demo (a pool
#               and a parallel run over a fake fleet of 50 devices, 5 of them faulty)
#   make test   runs every test: Rust (store-only and full builds), the demo, the C examples against the
#               static and shared libraries and under valgrind, the installed package (install-test)
#               and the Python package's tests
# Both install what they need on a fresh machine first (scripts/setup.sh).
#   make install PREFIX=/usr/local [DESTDIR=] installs the headers, the stripped libraries, netrig.pc
#               and the CMake package (scripts/install.sh); make uninstall removes them
#   make stress runs make demo's programs and the C++ examples 20 times and every Rust and Python test binary and the install test 3 times,
#               each beside two CPU-bound hogs, and prints pass counts (scripts/stress.sh; not
#               part of make test)

CARGO ?= cargo
# The fake fleet of the parallel demo: 50 devices, of which 2 refuse the login, 2 hang on "show
# version" and 1 drops the connection during it (examples-c/with_fleet.sh options).
DEMO_FLEET ?= --devices 50 --auth-failures 2 --hangs 2 --drops 1
export CARGO_TERM_COLOR ?= never

.PHONY: demo test stress setup setup-test lib rust-test fakedev-test c-test py-test wheel lint asan bench header clean
.PHONY: install uninstall install-test

demo: setup lib
	$(MAKE) -C examples-c build
	./examples-c/build/store_demo-shared
	./examples-c/build/queue_events_demo-shared
	./examples-c/with_fleet.sh ./examples-c/build/device_demo-shared
	./examples-c/with_fleet.sh $(DEMO_FLEET) ./examples-c/build/parallel_demo-shared

test: setup-test rust-test fakedev-test demo c-test install-test py-test lint asan
	@echo "make test: all passed"

stress: setup-test
	./scripts/stress.sh

setup:
	@./scripts/setup.sh

setup-test:
	@./scripts/setup.sh --test

# The library, and the fake device fleet that the C device demo runs against. Programs linked
# with -lnetrig record the SONAME, libnetrig.so.0, so the loader looks for that name: the
# symlink beside the build output is what an installed library would have.
# target/release/static/libnetrig.a is the static library as shipped (scripts/static_lib.sh:
# one object whose only globals are netrig_ symbols); the C examples and `make install` use it,
# not cargo's target/release/libnetrig.a, which exports the bundled SQLite, libssh2 and Rust.
lib:
	$(CARGO) build --release
	ln -sf libnetrig.so target/release/libnetrig.so.0
	$(MAKE) --no-print-directory target/release/static/libnetrig.a
	$(CARGO) build --release -p fakedev

# Remade only when cargo rebuilt its archive (about 2 s), so the static examples relink only then.
target/release/static/libnetrig.a: target/release/libnetrig.a scripts/static_lib.sh
	./scripts/static_lib.sh $< $@

# make install PREFIX=/usr/local DESTDIR= [LIBDIR=$(PREFIX)/lib INCLUDEDIR=$(PREFIX)/include]:
# the headers, libnetrig.so.X.Y.Z with its SONAME link and libnetrig.so, libnetrig.a (only
# netrig_ symbols global), netrig.pc and the CMake package netrig (netrig::netrig,
# netrig::netrig_static); the libraries stripped, the shared one's debug info in
# LIBDIR/.debug (scripts/install.sh). make uninstall removes the same files.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
INSTALL_ENV = PREFIX="$(PREFIX)" LIBDIR="$(LIBDIR)" INCLUDEDIR="$(INCLUDEDIR)" DESTDIR="$(DESTDIR)"

install:
	$(CARGO) build --release
	$(INSTALL_ENV) ./scripts/install.sh

uninstall:
	$(INSTALL_ENV) ./scripts/install.sh --uninstall

# Installs into temporary prefixes (and with DESTDIR) and builds, links and runs C and C++
# consumers through pkg-config and CMake's find_package, shared and static (scripts/install_test.sh).
install-test: lib
	./scripts/install_test.sh

rust-test:
	$(CARGO) test --no-default-features
	$(CARGO) test --release

# The fake device fleet (tests/fakedev): its shell state machine, and real SSH through libssh2.
fakedev-test:
	$(CARGO) test -p fakedev

c-test: lib
	$(MAKE) -C examples-c build run valgrind
	@# The shared library exports netrig_ symbols and nothing else (CONTRIBUTING.md, "Names").
	@others=$$(nm -D --defined-only target/release/libnetrig.so | awk '{print $$3}' | grep -v '^netrig_' || true); \
	  if [ -n "$$others" ]; then echo "libnetrig.so exports non-netrig symbols: $$others" >&2; exit 1; fi; \
	  echo "libnetrig.so exports $$(nm -D --defined-only target/release/libnetrig.so | grep -c ' netrig_') symbols, all netrig_"
	@# The SONAME carries the ABI major (README, "ABI policy"), and the shared examples load it by it.
	@soname=$$(readelf -d target/release/libnetrig.so | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'); \
	  if [ "$$soname" != libnetrig.so.0 ]; then echo "libnetrig.so has SONAME '$$soname', not libnetrig.so.0" >&2; exit 1; fi; \
	  needed=$$(readelf -d examples-c/build/quickstart-shared | sed -n 's/.*(NEEDED).*\[\(libnetrig[^]]*\)\]/\1/p'); \
	  if [ "$$needed" != libnetrig.so.0 ]; then echo "quickstart-shared needs '$$needed', not libnetrig.so.0" >&2; exit 1; fi; \
	  echo "libnetrig.so has SONAME $$soname"

py-test: setup-test lib
	$(CARGO) build --release -p fakedev
	python3 -m pytest -q python/tests

# dist/netrig-VERSION-py3-none-manylinux_*.whl: the Python package with libnetrig.so in it
# (python/pyproject.toml; pip builds it in place from ../Cargo.toml, reusing target/release, with
# the backend that setup.sh --test installed in pyproject's ranges: no package index needed),
# then `auditwheel repair`, which grafts libssl/libcrypto into netrig.libs/ and gives the
# manylinux tag that the library's glibc symbols allow; `auditwheel show` prints the result.
wheel: setup-test
	rm -rf dist/raw && mkdir -p dist
	python3 -m pip wheel ./python --no-deps --no-build-isolation -w dist/raw
	rm -f dist/netrig-*.whl
	python3 -m auditwheel repair -w dist dist/raw/netrig-*.whl
	rm -rf dist/raw
	python3 -m auditwheel show dist/netrig-*.whl

lint:
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy -p fakedev --all-targets -- -D warnings
	$(CARGO) bench --no-run

# AddressSanitizer over the store-only tests, on the nightly toolchain when it is installed.
asan:
	@if $(CARGO) +nightly --version >/dev/null 2>&1; then \
	  RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" ASAN_OPTIONS=detect_leaks=1 \
	    $(CARGO) +nightly test --no-default-features --target x86_64-unknown-linux-gnu --lib --tests; \
	else echo "asan: no nightly toolchain here, skipped"; fi

# The run benchmark spawns the release fakedev binary (500 devices: about 1100 open files in
# that process), so it builds it first and raises the soft open-files limit to the hard one.
bench:
	$(CARGO) bench --bench store
	$(CARGO) bench --bench queue
	$(CARGO) bench --bench device
	$(CARGO) bench --bench log
	$(CARGO) build --release -p fakedev
	ulimit -Sn $$(ulimit -Hn) 2>/dev/null || true; $(CARGO) bench --bench run

# include/netrig.h from the extern "C" items of src/ffi, with the cbindgen version pinned in
# tools/header/Cargo.toml. Run it after changing the C ABI and commit the header with the code;
# tests/repo_rules.rs (header_is_committed) fails while they differ. A build never writes it.
header:
	$(CARGO) run --release -q -p netrig-header

clean:
	$(CARGO) clean
	$(MAKE) -C examples-c clean
