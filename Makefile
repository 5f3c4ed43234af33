# mpstack - build, set-up, run, demo, test, bench.
#
#   make            build build/mps-primary and build/mps-secondary
#   make deps       install what is missing (Debian) and fetch lwIP source
#   make run        primary + WORKERS secondaries in the netns, foreground
#   make demo       set up, start 2 workers, exercise them, print stats, stop
#   make test       set up, then unit tests and integration tests
#   make test-stress  the integration suite with one CPU kept busy, 3 times
#   make replay     replay pcaps/ (or PCAP=file, any pcap; REPLAY_ARGS=...) into the
#                   running stack, with a verdict
#   make pcaps      regenerate pcaps/*.pcap and pcaps/manifest.json
#   make bench      side by side with the kernel stack (numbers, not pass/fail)
#   make fuzz       libFuzzer on the RX path for FUZZ_SECONDS (default 60)
#   make asan       ASan+UBSan builds of the programs and unit tests (build/asan)
#   make cycles     the programs with the workers' cycle probes (build/cycles;
#                   also `make CYCLES=1`): where a worker's busy cycles go
#   make soak       SOAK_MINUTES (default 30) of connection churn, figures
#                   every minute, pass/fail on drift (not part of make test)
#
# lwIP is compiled from LWIP_SRC (default: fetched into third_party/lwip).

LWIP_SRC ?= third_party/lwip
# CYCLES=1: the cycles build (secondary/cycles.h), in its own directory.
BUILD    ?= $(if $(CYCLES),build/cycles,build)
WORKERS  ?= 2
PYTHON   ?= /usr/bin/python3

CC       ?= cc
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   := $(shell pkg-config --libs libdpdk 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes
OPT      ?= -O2 -g
# Link-time optimisation: lwIP's small functions (pbuf, tcp_recved, ...)
# and the worker API's get inlined across files; make bench's memif echo
# took 13-17 % fewer busy cycles per request with it (README, Performance).
# Every link below passes it too; the ASan and fuzz builds go without.
LTO      ?= -flto=auto
CFLAGS_COMMON := $(OPT) $(LTO) -D_GNU_SOURCE -MMD -MP
LINK     := $(CC) $(OPT) $(LTO)
INC      := -Icommon -Isecondary -Isecondary/lwip -I$(LWIP_SRC)/src/include
CFLAGS_APP  := $(CFLAGS_COMMON) $(WARN) $(INC) $(DPDK_CFLAGS) $(EXTRA_CFLAGS)
# lwIP's own sources: its own (laxer) flags.
CFLAGS_LWIP := $(CFLAGS_COMMON) -w -Isecondary/lwip -I$(LWIP_SRC)/src/include $(EXTRA_CFLAGS)
LDFLAGS_APP := $(DPDK_LIBS) $(EXTRA_LDFLAGS)
# The cycles build: TSC probes by category in the worker, and every
# call of lwIP's tcp_output from another file charged to lwIP output:
# they call cycles.c's wrapper instead, by name (a link-time --wrap would
# miss the calls LTO binds inside its partitions). tcp_out.c itself, and
# the wrapper, call the real one.
CYC_WRAP := -Dtcp_output=mps_cyc_tcp_output
ifneq ($(CYCLES),)
CFLAGS_APP  += -DMPS_CYCLES $(CYC_WRAP)
CFLAGS_LWIP += $(CYC_WRAP)
$(BUILD)/lwip/core/tcp_out.o: CFLAGS_LWIP := $(filter-out $(CYC_WRAP),$(CFLAGS_LWIP))
$(BUILD)/obj/secondary/cycles.o: CFLAGS_APP := $(filter-out $(CYC_WRAP),$(CFLAGS_APP))
endif

LWIP_FILES := core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c \
	core/memp.c core/netif.c core/pbuf.c core/stats.c core/sys.c core/tcp.c \
	core/tcp_in.c core/tcp_out.c core/timeouts.c core/udp.c \
	core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
	core/ipv4/ip4_frag.c netif/ethernet.c
# lwiperf, core/tcp_in.c and core/tcp_out.c are built from patched copies (see
# secondary/lwip/patches and the rules below).
LWIPERF_O  := apps/lwiperf/lwiperf.o
LWIP_OBJS  := $(addprefix $(BUILD)/lwip/,$(LWIP_FILES:.c=.o) $(LWIPERF_O))

COMMON_SRCS := common/mps_config.c common/mps_parse.c common/mps_neigh.c common/mps_log.c \
	common/mps_rss.c common/mps_proc.c common/mps_siphash.c common/mps_isn.c \
	common/mps_csum.c common/mps_slot.c
PRIMARY_SRCS := primary/main.c primary/ports.c primary/shared_objs.c \
	primary/telemetry.c primary/monitor.c primary/metrics.c \
	primary/capture.c primary/adopt.c primary/exception.c
# The worker TCP API (secondary/api/); it uses nothing from apps/.
API_SRCS := secondary/api/api.c secondary/api/conn.c secondary/api/rxq.c \
	secondary/api/timer.c \
	secondary/api/budget.c secondary/api/limits.c \
	secondary/api/sndq.c
SECONDARY_SRCS := secondary/main.c secondary/worker.c secondary/attach.c secondary/loop.c \
	secondary/netif.c secondary/tcp_hooks.c secondary/neigh_learn.c secondary/steer.c \
	secondary/lwip/sys_arch.c $(API_SRCS) \
	secondary/apps/apps.c secondary/apps/echo.c secondary/apps/http.c \
	secondary/mirror.c secondary/adopt.c secondary/replace.c secondary/exception.c \
	secondary/rxwait.c secondary/txseg.c \
	secondary/pcb_guard.c secondary/pcb_cache.c secondary/tcp_tail.c $(if $(CYCLES),secondary/cycles.c)
UNIT_SRCS := test/unit/main.c test/unit/test_config.c test/unit/test_parse.c \
	test/unit/test_neigh.c test/unit/test_drop.c \
	test/unit/test_rss.c test/unit/test_portopts.c test/unit/test_isn.c \
	test/unit/test_wset.c test/unit/test_csum.c test/unit/test_slot.c

# mps-capture, a small secondary that writes what the workers mirror.
CAPTURE_SRCS := capture/main.c

# V=1 shows the compiler command lines.
Q := $(if $(V),,@)

obj = $(addprefix $(BUILD)/obj/,$(1:.c=.o))

.PHONY: all deps lwip hugepages run demo test test-stress test-bins unit integration bench \
	clean help replay pcaps fuzz fuzz-bin asan soak cycles
all: $(BUILD)/mps-primary $(BUILD)/mps-secondary $(BUILD)/mps-capture

help:
	@sed -n '2,21p' Makefile

deps:
	@scripts/deps.sh

lwip: $(LWIP_SRC)/src/core/tcp.c
$(LWIP_SRC)/src/core/tcp.c:
	@scripts/fetch-lwip.sh $(LWIP_SRC)
# Every other lwIP source arrives with tcp.c: without this rule a first
# `make` in a fresh clone finds no rule for build/lwip/*.o (the pattern
# rule's source did not exist when make looked).
LWIP_OTHER_SRCS := $(filter-out %/core/tcp.c,$(addprefix $(LWIP_SRC)/src/,$(LWIP_FILES))) \
	$(LWIP_SRC)/src/apps/lwiperf/lwiperf.c
$(LWIP_OTHER_SRCS): $(LWIP_SRC)/src/core/tcp.c
	@test -f $@ || { echo "$@: missing from LWIP_SRC=$(LWIP_SRC)" >&2; exit 1; }

hugepages:
	@scripts/hugepages.sh

$(BUILD)/mps-primary: $(call obj,$(PRIMARY_SRCS) $(COMMON_SRCS))
	$(LINK) -o $@ $^ $(LDFLAGS_APP)

$(BUILD)/mps-secondary: $(call obj,$(SECONDARY_SRCS) $(COMMON_SRCS)) $(LWIP_OBJS)
	$(LINK) -o $@ $^ $(LDFLAGS_APP)

$(BUILD)/mps-capture: $(call obj,$(CAPTURE_SRCS) $(COMMON_SRCS))
	$(LINK) -o $@ $^ $(LDFLAGS_APP)

# rte_pcapng (and rte_pdump's header) are experimental in DPDK 22.11.
$(call obj,$(CAPTURE_SRCS) secondary/mirror.c primary/capture.c): \
	CFLAGS_APP += -DALLOW_EXPERIMENTAL_API
# rte_seqcount is experimental in DPDK 22.11.
$(call obj,secondary/cycles.c primary/telemetry.c): \
	CFLAGS_APP += -DALLOW_EXPERIMENTAL_API

# test_neigh.c runs the primary's delete in the middle of a learn's add;
# test_slot.c runs a worker's death and the primary's reap in the middle
# of a claim.
# A link-time --wrap misses calls LTO binds inside its partitions: the
# wrapped mps_pid_alive's file stays out of LTO.
$(BUILD)/obj/common/mps_proc.o: CFLAGS_APP += -fno-lto
$(BUILD)/unit-tests: $(call obj,$(UNIT_SRCS) $(COMMON_SRCS))
	$(LINK) -o $@ $^ $(LDFLAGS_APP) -Wl,--wrap=rte_hash_add_key_with_hash_data \
		-Wl,--wrap=mps_pid_alive

$(BUILD)/obj/%.o: %.c | $(LWIP_SRC)/src/core/tcp.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_APP) -c -o $@ $<

$(BUILD)/lwip/%.o: $(LWIP_SRC)/src/%.c secondary/lwip/lwipopts.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_LWIP) -c -o $@ $<

# lwIP sources we patch are built from patched copies under $(BUILD) (the
# lwIP tree is never modified; CRs are stripped so a patch applies to either
# line ending). $(call lwip_patched,COPY,SOURCE,PATCHES) makes COPY, the
# patches applied in their order.
define lwip_patched
$(1): $(2) $(3)
	@mkdir -p $$(dir $$@)
	$$(Q)tr -d '\r' < $$< > $$@.tmp
	$$(Q)for p in $(3); do patch -s --no-backup-if-mismatch $$@.tmp $$$$p || exit 1; done
	$$(Q)mv $$@.tmp $$@
endef
# lwiperf: our fix for its double free.
LWIPERF_PATCH := secondary/lwip/patches/lwiperf-err-double-free.patch
LWIPERF_C     := $(BUILD)/lwip-patched/lwiperf.c
$(eval $(call lwip_patched,$(LWIPERF_C),$(LWIP_SRC)/src/apps/lwiperf/lwiperf.c,$(LWIPERF_PATCH)))
# tcp_in.c: the send window updated as RFC 9293 says (a zero window in a
# segment with unchanged SEQ/ACK is taken); hooks for the PCB lookup
# (secondary/pcb_cache.c).
TCP_IN_PATCH := secondary/lwip/patches/tcp-in-rfc9293-window-update.patch \
	secondary/lwip/patches/tcp-in-pcb-find-hook.patch
TCP_IN_C     := $(BUILD)/lwip-patched/tcp_in.c
$(eval $(call lwip_patched,$(TCP_IN_C),$(LWIP_SRC)/src/core/tcp_in.c,$(TCP_IN_PATCH)))
# tcp_out.c: a hook for the buffer of a data segment (secondary/txseg.c
# puts it in a pool mbuf).
TCP_OUT_PATCH := secondary/lwip/patches/tcp-out-seg-alloc-hook.patch \
	secondary/lwip/patches/tcp-out-unacked-tail-hook.patch
TCP_OUT_C     := $(BUILD)/lwip-patched/tcp_out.c
$(eval $(call lwip_patched,$(TCP_OUT_C),$(LWIP_SRC)/src/core/tcp_out.c,$(TCP_OUT_PATCH)))

# Every build of these objects (this one, asan through it, fuzz below) uses
# the patched copies.
$(BUILD)/lwip/$(LWIPERF_O): $(LWIPERF_C) secondary/lwip/lwipopts.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_LWIP) -c -o $@ $<

$(BUILD)/lwip/core/tcp_in.o $(BUILD)/lwip/core/tcp_out.o: $(BUILD)/lwip/core/%.o: \
		$(BUILD)/lwip-patched/%.c secondary/lwip/lwipopts.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_LWIP) -c -o $@ $<

# lwIP aborts an lwiperf connection: the pcb pool must stay sound (no DPDK).
# One lwIP instance talking to itself (stubs of the worker's hooks): the
# harness of the checks below.
LWIP_LOOP_SRCS := test/unit/lwip_loop.c common/mps_csum.c secondary/pcb_cache.c \
	secondary/tcp_tail.c
$(BUILD)/lwiperf-check: $(call obj,test/unit/lwiperf_check.c $(LWIP_LOOP_SRCS)) $(LWIP_OBJS)
	$(LINK) -o $@ $^ $(EXTRA_LDFLAGS)

# A peer closes its window to zero in a segment with unchanged SEQ/ACK:
# the stack must stop sending (no DPDK). The -unpatched build links
# lwIP's own tcp_in.c and must fail (it shows the test catches the bug).
$(BUILD)/tcp-wnd-check: $(call obj,test/unit/tcp_wnd_check.c $(LWIP_LOOP_SRCS)) $(LWIP_OBJS)
	$(LINK) -o $@ $^ $(EXTRA_LDFLAGS)
$(BUILD)/lwip-unpatched/core/tcp_in.o: $(LWIP_SRC)/src/core/tcp_in.c secondary/lwip/lwipopts.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_LWIP) -c -o $@ $<
$(BUILD)/tcp-wnd-check-unpatched: $(call obj,test/unit/tcp_wnd_check.c $(LWIP_LOOP_SRCS)) \
		$(filter-out %/core/tcp_in.o,$(LWIP_OBJS)) $(BUILD)/lwip-unpatched/core/tcp_in.o
	$(LINK) -o $@ $^ $(EXTRA_LDFLAGS)

# The PCB cache finds what lwIP's walk would and keeps no freed PCB (no DPDK).
$(BUILD)/pcb-cache-check: $(call obj,test/unit/pcb_cache_check.c $(LWIP_LOOP_SRCS)) $(LWIP_OBJS)
	$(LINK) -o $@ $^ $(EXTRA_LDFLAGS)

# tcp_output's unacked tail is the list's last segment through losses and
# timeouts (no DPDK; meaningful under ASan, which checks every tail).
$(BUILD)/tcp-tail-check: $(call obj,test/unit/tcp_tail_check.c $(LWIP_LOOP_SRCS)) $(LWIP_OBJS)
	$(LINK) -o $@ $^ $(EXTRA_LDFLAGS)

# The worker API's RX queue, handles and send queue on lwIP (no DPDK).
API_CHECK_SRCS := test/unit/api_check.c $(LWIP_LOOP_SRCS) $(API_SRCS) secondary/worker.c \
	common/mps_rss.c
$(BUILD)/api-check: $(call obj,$(API_CHECK_SRCS)) $(LWIP_OBJS)
	$(LINK) -o $@ $^ $(EXTRA_LDFLAGS)

# A secondary built from another layout, for the refusal test.
test-bins: $(BUILD)/layout999/mps-secondary $(BUILD)/lwiperf-check $(BUILD)/api-check \
	$(BUILD)/tcp-wnd-check $(BUILD)/pcb-cache-check cycles
$(BUILD)/layout999/mps-secondary: $(SECONDARY_SRCS) $(COMMON_SRCS) common/mps_shared.h
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/layout999 \
		EXTRA_CFLAGS=-DMPS_LAYOUT_VERSION=999 $(BUILD)/layout999/mps-secondary

run: all
	scripts/mps-run.sh foreground $(WORKERS)

# deps first, then a fresh make: pkg-config libdpdk must see the new install.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	scripts/demo.sh

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

integration: all
	$(PYTHON) -m pytest -q test/integration

test: deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/unit-tests test-bins asan fuzz-bin
	scripts/run-tests.sh

# The integration suite on a hostile schedule: one CPU kept busy by a pinned
# busy loop, every time bound of the suite scaled by one factor
# (MPS_TEST_TIME_SCALE, default 3; see scripts/mps.py), STRESS_RUNS
# times in a row; PYTEST_ARGS narrows it (e.g. test/integration/test_neigh.py).
STRESS_RUNS ?= 3
PYTEST_ARGS ?= test/integration
test-stress: all test-bins
	@scripts/hugepages.sh >/dev/null
	$(Q)for i in $$(seq $(STRESS_RUNS)); do echo "== stress run $$i/$(STRESS_RUNS)"; \
		MPS_TEST_HOG=1 $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) || exit 1; done

# Side by side with the kernel stack; numbers, never pass/fail.
BENCH_TOOLS := $(BUILD)/bench/pingpong $(BUILD)/bench/epoll_echo $(BUILD)/bench/epoll_load \
	$(BUILD)/bench/flood
$(BUILD)/bench/%: test/bench/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(OPT) $(WARN) -o $@ $<

bench:
	@scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all cycles $(BENCH_TOOLS)
	$(PYTHON) scripts/bench.py

# pcaps replayed with scapy inside the stack's namespace.
MPS_NS     ?= mpstack
MPS_PREFIX ?= $(MPS_NS)
replay:
	@MPS_NS=$(MPS_NS) MPS_PREFIX=$(MPS_PREFIX) scripts/mps-run.sh check
	ip netns exec $(MPS_NS) $(PYTHON) scripts/replay.py --prefix $(MPS_PREFIX) $(REPLAY_ARGS) $(PCAP)

pcaps:
	$(PYTHON) pcaps/gen_pcaps.py

# ---- fuzzing, sanitizer builds, soak ----
# The fuzz target is built with clang (libFuzzer + ASan + UBSan), lwIP
# included, against Debian's DPDK; it runs EAL in-process without hugepages.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g -D_GNU_SOURCE -MMD -MP $(SAN_FLAGS) -fsanitize=fuzzer-no-link \
	$(INC) $(DPDK_CFLAGS)
FUZZ_SRCS    := test/fuzz/fuzz_rx.c secondary/worker.c secondary/netif.c secondary/tcp_hooks.c \
	secondary/neigh_learn.c secondary/steer.c secondary/pcb_guard.c secondary/pcb_cache.c \
	secondary/tcp_tail.c \
	secondary/lwip/sys_arch.c $(API_SRCS) secondary/apps/apps.c \
	secondary/apps/echo.c secondary/apps/http.c secondary/mirror.c \
	secondary/replace.c secondary/adopt.c secondary/attach.c secondary/exception.c \
	secondary/txseg.c $(COMMON_SRCS)
FUZZ_OBJS    := $(addprefix $(BUILD)/fuzz/obj/,$(FUZZ_SRCS:.c=.o)) \
	$(addprefix $(BUILD)/fuzz/lwip/,$(LWIP_FILES:.c=.o) $(LWIPERF_O))

$(BUILD)/fuzz/obj/%.o: %.c | $(LWIP_SRC)/src/core/tcp.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -c -o $@ $<

$(BUILD)/fuzz/lwip/%.o: $(LWIP_SRC)/src/%.c secondary/lwip/lwipopts.h
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -w -c -o $@ $<

$(BUILD)/fuzz/lwip/$(LWIPERF_O): $(LWIPERF_C) secondary/lwip/lwipopts.h
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -w -c -o $@ $<

$(BUILD)/fuzz/lwip/core/tcp_in.o $(BUILD)/fuzz/lwip/core/tcp_out.o: \
		$(BUILD)/fuzz/lwip/core/%.o: $(BUILD)/lwip-patched/%.c secondary/lwip/lwipopts.h
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -w -c -o $@ $<

# The same experimental DPDK calls as the regular build (rte_pcapng).
$(BUILD)/fuzz/obj/secondary/mirror.o: \
	FUZZ_CFLAGS += -DALLOW_EXPERIMENTAL_API

$(BUILD)/fuzz/fuzz-rx: $(FUZZ_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer $(SAN_FLAGS) -o $@ $^ $(DPDK_LIBS)

fuzz-bin: $(BUILD)/fuzz/fuzz-rx

fuzz: $(BUILD)/fuzz/fuzz-rx
	scripts/fuzz.sh $(BUILD)/fuzz/fuzz-rx $(FUZZ_SECONDS)

# Programs and unit tests with ASan + UBSan (gcc), in $(BUILD)/asan.
asan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan OPT="-O1 -g" LTO= \
		EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" \
		$(BUILD)/asan/mps-primary $(BUILD)/asan/mps-secondary $(BUILD)/asan/unit-tests \
		$(BUILD)/asan/api-check $(BUILD)/asan/tcp-wnd-check $(BUILD)/asan/pcb-cache-check \
		$(BUILD)/asan/tcp-tail-check

# The programs with the workers' cycle probes (secondary/cycles.h), in
# $(BUILD)/cycles: `make bench` and test_cycles.py use them.
cycles:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/cycles CYCLES=1 \
		$(BUILD)/cycles/mps-primary $(BUILD)/cycles/mps-secondary

SOAK_MINUTES ?= 30
soak: all
	$(PYTHON) scripts/soak.py --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
