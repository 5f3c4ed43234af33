/* SPDX-License-Identifier: BSD-3-Clause
 *
 * flood - sends prebuilt Ethernet frames from a packet socket, paced.
 * usage: flood IFACE FILE FRAME_LEN COUNT PPS
 * FILE holds frames of FRAME_LEN bytes each, back to back; COUNT frames go
 * out on IFACE, cycling through them, in sendmmsg batches of up to BATCH,
 * PPS a second (0: as fast as the socket takes them). A frame the qdisc
 * refuses (ENOBUFS) is sent again after a yield, so COUNT frames leave.
 * Prints one JSON object: sent, refused (retries), seconds, pps.
 */
#define _GNU_SOURCE /* sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#define BATCH 32

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
sleep_until(uint64_t t_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ull),
			       .tv_nsec = (long)(t_ns % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* The whole file; its size in *len. */
static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = buf != NULL ? (size_t)n : 0;
	return buf;
}

int
main(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	long frame_len, count, pps, sent = 0, refused = 0;
	size_t file_len, n_frames;
	uint64_t t0, t1;
	uint8_t *frames;
	int fd;

	if (argc != 6 || (frame_len = strtol(argv[3], NULL, 10)) <= 0 ||
	    (count = strtol(argv[4], NULL, 10)) <= 0 || (pps = strtol(argv[5], NULL, 10)) < 0) {
		fprintf(stderr, "usage: flood IFACE FILE FRAME_LEN COUNT PPS\n");
		return 2;
	}
	frames = read_file(argv[2], &file_len);
	if (frames == NULL || file_len % (size_t)frame_len != 0) {
		fprintf(stderr, "flood: %s: not frames of %ld bytes\n", argv[2], frame_len);
		return 1;
	}
	n_frames = file_len / (size_t)frame_len;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (sll.sll_ifindex == 0 || fd < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		perror("flood: packet socket");
		return 1;
	}
	memset(msg, 0, sizeof(msg));
	t0 = now_ns();
	while (sent < count) {
		int n = (int)(count - sent < BATCH ? count - sent : BATCH), r;

		if (pps > 0) /* batch k is due at t0 + k * BATCH / pps */
			sleep_until(t0 + (uint64_t)sent * 1000000000ull / (uint64_t)pps);
		for (int i = 0; i < n; i++) {
			iov[i].iov_base = frames + (size_t)((sent + i) % (long)n_frames) *
							   (size_t)frame_len;
			iov[i].iov_len = (size_t)frame_len;
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(fd, msg, (unsigned int)n, 0);
		if (r > 0) {
			sent += r;
		} else if (errno == ENOBUFS || errno == EAGAIN) {
			refused++;
			sched_yield();
		} else {
			perror("flood: sendmmsg");
			return 1;
		}
	}
	t1 = now_ns();
	printf("{\"sent\": %ld, \"refused\": %ld, \"seconds\": %.3f, \"pps\": %.0f}\n", sent,
	       refused, (double)(t1 - t0) / 1e9, (double)sent * 1e9 / (double)(t1 - t0));
	free(frames);
	return 0;
}
