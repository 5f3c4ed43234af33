/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_slot.c - claiming and reaping worker slots (common/mps_slot.[ch])
 * against a real rte_rcu_qsbr variable: a worker restarted while the
 * primary reaps its dead predecessor must stay a registered reader, so
 * neighbour reclaim keeps waiting for it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_rcu_qsbr.h>

#include "mps_slot.h"
#include "unit.h"

#define QS_ID 1u

/* The pid of a process that has exited and been waited for. */
static int32_t
dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return (int32_t)pid;
}

static struct rte_rcu_qsbr *
qsbr_new(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(4);
	struct rte_rcu_qsbr *v = aligned_alloc(RTE_CACHE_LINE_SIZE, sz);

	if (v != NULL && rte_rcu_qsbr_init(v, 4) != 0) {
		free(v);
		v = NULL;
	}
	return v;
}

/* Runs once, inside the next mps_pid_alive call (linked with
 * --wrap=mps_pid_alive): what other processes do while a claimer is
 * between its look at the slot and its swap. */
static void (*in_pid_alive)(void);

int __real_mps_pid_alive(int32_t pid);
int __wrap_mps_pid_alive(int32_t pid);

int
__wrap_mps_pid_alive(int32_t pid)
{
	void (*fn)(void) = in_pid_alive;

	in_pid_alive = NULL;
	if (fn != NULL)
		fn();
	return __real_mps_pid_alive(pid);
}

/* A worker's part of a claim: a reader from now on (attach.c). */
static void
reader_start(struct rte_rcu_qsbr *v)
{
	rte_rcu_qsbr_thread_register(v, QS_ID);
	rte_rcu_qsbr_thread_online(v, QS_ID);
}

void
test_slot_claim_waits_for_reap(void)
{
	struct mps_worker_slot s;
	struct rte_rcu_qsbr *v = qsbr_new();
	int32_t dead = dead_pid(), me = getpid(), pid = 0, prev = -1;
	uint64_t token;
	int rc;

	if (!CHECK(v != NULL) || !CHECK(dead > 0)) {
		free(v);
		return;
	}
	memset(&s, 0, sizeof(s));
	s.owner_pid = dead; /* died in its poll loop, still a reader */
	s.state = MPS_WORKER_RUNNING;
	reader_start(v);

	/* The primary saw the owner dead... */
	CHECK_EQ(mps_slot_reap_begin(&s, &pid), 1);
	CHECK_EQ(pid, dead);
	CHECK_EQ(s.state, MPS_WORKER_REAPING);
	/* ...a restarted worker tries to claim before it unregistered... */
	rc = mps_slot_claim(&s, me, &prev, 0);
	CHECK_EQ(rc, -EAGAIN);
	if (rc == 0)
		reader_start(v);
	/* ...the primary takes the dead reader out and ends the reap. */
	rte_rcu_qsbr_thread_offline(v, QS_ID);
	rte_rcu_qsbr_thread_unregister(v, QS_ID);
	mps_slot_reap_end(&s);
	CHECK_EQ(s.state, MPS_WORKER_DEAD);
	if (rc != 0) {
		CHECK_EQ(mps_slot_claim(&s, me, &prev, 0), 0);
		CHECK_EQ(prev, dead);
		reader_start(v);
	}
	CHECK_EQ(s.owner_pid, me);

	/* The new worker has not reported: a grace period waits for it. */
	token = rte_rcu_qsbr_start(v);
	CHECK_EQ(rte_rcu_qsbr_check(v, token, false), 0);
	rte_rcu_qsbr_quiescent(v, QS_ID);
	CHECK_EQ(rte_rcu_qsbr_check(v, token, false), 1);
	/* A live owner's slot is neither claimed nor reaped. */
	s.state = MPS_WORKER_RUNNING;
	CHECK_EQ(mps_slot_claim(&s, me, &prev, 0), -EBUSY);
	CHECK_EQ(mps_slot_reap_begin(&s, &pid), 0);
	free(v);
}

void
test_slot_reap_cases(void)
{
	struct mps_worker_slot s;
	int32_t dead = dead_pid(), me = getpid(), pid = 0, prev = -1;
	static const uint32_t not_reaped[] = { MPS_WORKER_FREE, MPS_WORKER_DEAD,
					       MPS_WORKER_REAPING };

	if (!CHECK(dead > 0))
		return;
	memset(&s, 0, sizeof(s));
	/* Never claimed. */
	CHECK_EQ(mps_slot_reap_begin(&s, &pid), 0);
	CHECK_EQ(mps_slot_claim(&s, me, &prev, 0), 0);
	CHECK_EQ(prev, 0);

	/* Released (FREE), reaped (DEAD) or being reaped: nothing to reap. */
	for (size_t i = 0; i < RTE_DIM(not_reaped); i++) {
		s.owner_pid = dead;
		s.state = not_reaped[i];
		CHECK_EQ(mps_slot_reap_begin(&s, &pid), 0);
		CHECK_EQ(s.state, not_reaped[i]);
	}
	/* A dead owner's slot the primary has not looked at yet: a claim
	 * waits for it. */
	s.state = MPS_WORKER_RUNNING;
	CHECK_EQ(mps_slot_claim(&s, me, &prev, 0), -EAGAIN);
	/* A released slot whose owner died before clearing its pid. */
	s.state = MPS_WORKER_FREE;
	CHECK_EQ(mps_slot_claim(&s, me, &prev, 0), 0);
	CHECK_EQ(prev, dead);

	/* Every other state of a dead owner is reaped. */
	for (uint32_t st = MPS_WORKER_STARTING; st <= MPS_WORKER_DRAINING; st++) {
		if (st == MPS_WORKER_DEAD)
			continue;
		s.owner_pid = dead;
		s.state = st;
		CHECK_EQ(mps_slot_reap_begin(&s, &pid), 1);
		CHECK_EQ(s.state, MPS_WORKER_REAPING);
		mps_slot_reap_end(&s);
		CHECK_EQ(s.state, MPS_WORKER_DEAD);
	}
	/* The end of a reap marks only a slot still REAPING. */
	s.state = MPS_WORKER_STARTING;
	mps_slot_reap_end(&s);
	CHECK_EQ(s.state, MPS_WORKER_STARTING);
}

/* The second interleaving: claimer C looks at the slot (owner X, just
 * claimed, state still DEAD), and before its swap X registers and dies
 * and the primary begins to reap (in_pid_alive). C's swap then succeeds;
 * it must not register before the primary, 20 ms later on its own
 * thread, has unregistered X's reader and ended the reap. */
static struct mps_worker_slot race_slot;
static struct rte_rcu_qsbr *race_v;
static pthread_t reaper;
static int reaper_started;

static void *
reap_rest(void *arg)
{
	(void)arg;
	usleep(20000);
	rte_rcu_qsbr_thread_offline(race_v, QS_ID);
	rte_rcu_qsbr_thread_unregister(race_v, QS_ID);
	mps_slot_reap_end(&race_slot);
	return NULL;
}

static void
x_dies_and_reap_begins(void)
{
	int32_t pid = 0;

	__atomic_store_n(&race_slot.state, MPS_WORKER_STARTING, __ATOMIC_RELEASE);
	reader_start(race_v); /* X, now dead */
	if (mps_slot_reap_begin(&race_slot, &pid) == 1)
		reaper_started = pthread_create(&reaper, NULL, reap_rest, NULL) == 0;
}

void
test_slot_claim_races_reap_begin(void)
{
	int32_t prev = -1;
	uint64_t token;
	int rc;

	race_v = qsbr_new();
	if (!CHECK(race_v != NULL))
		return;
	memset(&race_slot, 0, sizeof(race_slot));
	race_slot.owner_pid = dead_pid(); /* X */
	race_slot.state = MPS_WORKER_DEAD;
	reaper_started = 0;
	in_pid_alive = x_dies_and_reap_begins;
	rc = mps_slot_claim(&race_slot, getpid(), &prev, 5000);
	CHECK_EQ(rc, 0);
	CHECK(reaper_started);
	if (rc == 0)
		reader_start(race_v); /* C */
	if (reaper_started)
		pthread_join(reaper, NULL);
	CHECK_EQ(race_slot.owner_pid, getpid());
	CHECK_EQ(race_slot.state, MPS_WORKER_DEAD);
	/* C has not reported: the grace period must wait for it. */
	token = rte_rcu_qsbr_start(race_v);
	CHECK_EQ(rte_rcu_qsbr_check(race_v, token, false), 0);
	free(race_v);
}
