/* SPDX-License-Identifier: BSD-3-Clause
 *
 * epoll_load - a minimal kernel-stack load generator for make bench: CONNS
 * connections to an echo server, each in a closed loop of one 64-byte
 * request and its 64-byte answer, for SECONDS (after one second of warm-up).
 * The kernel's side of "both ends on one stack" (mpstack's is --connect
 * ADDR:PORT:load*N). Prints {"requests": N, "seconds": S, "rps": R}.
 * usage: epoll_load IP PORT CONNS SECONDS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ 64
#define MAX_CONNS 4096

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static int got[MAX_CONNS];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev, evs[256];
	char req[REQ], buf[REQ];
	unsigned long long done = 0, base = 0;
	double t_end, t_start;
	int ep, conns, seconds, one = 1, counting = 0;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: epoll_load IP PORT CONNS SECONDS\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	conns = atoi(argv[3]);
	seconds = atoi(argv[4]);
	if (conns < 1 || conns > MAX_CONNS || seconds < 1) {
		fprintf(stderr, "epoll_load: 1..%d connections, 1 s or more\n", MAX_CONNS);
		return 2;
	}
	memset(req, 'q', sizeof(req));
	ep = epoll_create1(0);
	for (int i = 0; i < conns; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			perror("epoll_load: connect");
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)(i << 16 | fd);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		if (write(fd, req, REQ) != REQ) {
			perror("epoll_load: write");
			return 1;
		}
	}
	t_start = now_s() + 1.0; /* warm-up */
	t_end = t_start + seconds;
	for (;;) {
		int n = epoll_wait(ep, evs, 256, 100);
		double t = now_s();

		if (!counting && t >= t_start) {
			counting = 1;
			base = done;
			t_start = t;
		}
		if (t >= t_end)
			break;
		for (int i = 0; i < n; i++) {
			int fd = (int)(evs[i].data.u32 & 0xffff), c = (int)(evs[i].data.u32 >> 16);
			ssize_t r = read(fd, buf, (size_t)(REQ - got[c]));

			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				fprintf(stderr, "epoll_load: connection %d closed\n", c);
				return 1;
			}
			got[c] += (int)r;
			if (got[c] < REQ)
				continue;
			got[c] = 0;
			done++;
			if (write(fd, req, REQ) != REQ) {
				perror("epoll_load: write");
				return 1;
			}
		}
	}
	printf("{\"requests\": %llu, \"seconds\": %.3f, \"rps\": %.0f}\n", done - base,
	       now_s() - t_start, (double)(done - base) / (now_s() - t_start));
	return 0;
}
