# mpstack - build, set-up, run, demo, test, bench.
#
#   make            build build/mps-primary and build/mps-secondary
#   make deps       install what is missing (Debian) and fetch lwIP source
#   make run        primary + WORKERS secondaries in the netns, foreground
#   make demo       set up, start 2 workers, exercise them, print stats, stop
#   make test       set up, then unit tests and integration tests
#   make replay     replay pcaps/ (or PCAP=file) into the running stack, check
#   make pcaps      regenerate pcaps/*.pcap and pcaps/manifest.json
#
# lwIP is compiled from LWIP_SRC (default: fetched into third_party/lwip).

LWIP_SRC ?= third_party/lwip
BUILD    ?= build
WORKERS  ?= 2
PYTHON   ?= /usr/bin/python3

CC       ?= cc
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   := $(shell pkg-config --libs libdpdk 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes
OPT      ?= -O2 -g
CFLAGS_COMMON := $(OPT) -D_GNU_SOURCE -MMD -MP
INC      := -Icommon -Isecondary -Isecondary/lwip -I$(LWIP_SRC)/src/include
CFLAGS_APP  := $(CFLAGS_COMMON) $(WARN) $(INC) $(DPDK_CFLAGS) $(EXTRA_CFLAGS)
# lwIP's own sources: its own (laxer) flags.
CFLAGS_LWIP := $(CFLAGS_COMMON) -w -Isecondary/lwip -I$(LWIP_SRC)/src/include $(EXTRA_CFLAGS)
LDFLAGS_APP := $(DPDK_LIBS) $(EXTRA_LDFLAGS)

LWIP_FILES := core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c \
	core/memp.c core/netif.c core/pbuf.c core/stats.c core/sys.c core/tcp.c \
	core/tcp_in.c core/tcp_out.c core/timeouts.c core/udp.c \
	core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
	core/ipv4/ip4_frag.c netif/ethernet.c apps/lwiperf/lwiperf.c
LWIP_OBJS  := $(addprefix $(BUILD)/lwip/,$(LWIP_FILES:.c=.o))

COMMON_SRCS := common/mps_config.c common/mps_parse.c common/mps_neigh.c common/mps_log.c \
	common/mps_rss.c
PRIMARY_SRCS := primary/main.c primary/ports.c primary/shared_objs.c \
	primary/telemetry.c primary/monitor.c primary/metrics.c \
	primary/capture.c
SECONDARY_SRCS := secondary/main.c secondary/attach.c secondary/loop.c \
	secondary/netif.c secondary/lwip/sys_arch.c secondary/api.c \
	secondary/apps/apps.c secondary/apps/echo.c secondary/apps/http.c \
	secondary/mirror.c
UNIT_SRCS := test/unit/main.c test/unit/test_config.c test/unit/test_parse.c \
	test/unit/test_neigh.c test/unit/test_drop.c \
	test/unit/test_rss.c test/unit/test_portopts.c

# issue 7: mps-capture, a small secondary that writes what the workers mirror.
CAPTURE_SRCS := secondary/capture/main.c

# V=1 shows the compiler command lines.
Q := $(if $(V),,@)

obj = $(addprefix $(BUILD)/obj/,$(1:.c=.o))

.PHONY: all deps lwip hugepages run demo test test-bins unit integration bench clean help \
	replay pcaps
all: $(BUILD)/mps-primary $(BUILD)/mps-secondary $(BUILD)/mps-capture

help:
	@sed -n '2,12p' Makefile

deps:
	@scripts/deps.sh

lwip: $(LWIP_SRC)/src/core/tcp.c
$(LWIP_SRC)/src/core/tcp.c:
	@scripts/fetch-lwip.sh $(LWIP_SRC)

hugepages:
	@scripts/hugepages.sh

$(BUILD)/mps-primary: $(call obj,$(PRIMARY_SRCS) $(COMMON_SRCS))
	$(CC) -o $@ $^ $(LDFLAGS_APP)

$(BUILD)/mps-secondary: $(call obj,$(SECONDARY_SRCS) $(COMMON_SRCS)) $(LWIP_OBJS)
	$(CC) -o $@ $^ $(LDFLAGS_APP)

$(BUILD)/mps-capture: $(call obj,$(CAPTURE_SRCS) $(COMMON_SRCS))
	$(CC) -o $@ $^ $(LDFLAGS_APP)

# rte_pcapng (and rte_pdump's header) are experimental in DPDK 22.11.
$(call obj,$(CAPTURE_SRCS) secondary/mirror.c primary/capture.c): \
	CFLAGS_APP += -DALLOW_EXPERIMENTAL_API
# issue 6b: rte_ipv4_udptcp_cksum_verify is experimental in DPDK 22.11.
$(call obj,secondary/netif.c): CFLAGS_APP += -DALLOW_EXPERIMENTAL_API

$(BUILD)/unit-tests: $(call obj,$(UNIT_SRCS) $(COMMON_SRCS))
	$(CC) -o $@ $^ $(LDFLAGS_APP)

$(BUILD)/obj/%.o: %.c | $(LWIP_SRC)/src/core/tcp.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_APP) -c -o $@ $<

$(BUILD)/lwip/%.o: $(LWIP_SRC)/src/%.c secondary/lwip/lwipopts.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_LWIP) -c -o $@ $<

# A secondary built from another layout, for the refusal test.
test-bins: $(BUILD)/layout999/mps-secondary
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
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/unit-tests test-bins
	scripts/run-tests.sh

# Side by side with the kernel stack; numbers, never pass/fail.
BENCH_TOOLS := $(BUILD)/bench/pingpong $(BUILD)/bench/epoll_echo
$(BUILD)/bench/%: test/bench/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(OPT) $(WARN) -o $@ $<

bench:
	@scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all $(BENCH_TOOLS)
	$(PYTHON) scripts/bench.py

# issue 7: pcaps replayed with scapy inside the stack's namespace.
MPS_NS     ?= mpstack
MPS_PREFIX ?= $(MPS_NS)
replay:
	ip netns exec $(MPS_NS) $(PYTHON) scripts/replay.py --prefix $(MPS_PREFIX) $(PCAP)

pcaps:
	$(PYTHON) pcaps/gen_pcaps.py

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
