/*
 * The floor of the poller bench: libevent's test/bench.c loop (Provos 2003, chained events by
 * Libenzi) done by a plain C program that calls epoll/poll/select directly, with no event library.
 * Compiled by bench/pollers/index.js with `cc -O2` into a temp dir at run time.
 *
 * N AF_UNIX stream socketpairs (non-blocking, as hapoll's native.socketpair makes them). The read
 * end of every pair is watched for reading, level-triggered, for the whole run. One iteration:
 * write one byte into A pairs spaced N/A apart, then turn the loop with a zero timeout until every
 * byte written was read; the read callback of pair i reads 1 byte and, while writes remain (W,
 * default N), writes 1 byte into pair i+1. So an iteration handles A + W events.
 *
 * epoll gets at most 200 events per wait (HAProxy's tune.maxpollevents, which hapoll also uses);
 * poll and select report everything ready in one call, as a plain loop would.
 *
 * usage: floor <epoll|poll|select> <npairs> <nactive> <nwrites> <iters> <warmup_ms> <budget_ms>
 * prints one JSON line: {"poller":..., "usPerIter":[...], "events":E, "waits":T}
 * (events and waits per iteration, from the last one).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#define MAXEVENTS 200

static int npairs, nactive, nwrites;
static int *rfd, *wfd;
static long count, fired, writes, failures;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* libevent bench.c's read_cb(): read the byte, pass one on to the next pair. */
static void read_cb(int idx)
{
	unsigned char ch;
	ssize_t n = recv(rfd[idx], &ch, 1, 0);
	if (n > 0)
		count += n;
	else if (n == -1 && errno != EAGAIN)
		failures++;
	if (writes) {
		int widx = idx + 1;
		if (widx >= npairs)
			widx -= npairs;
		if (send(wfd[widx], "e", 1, MSG_NOSIGNAL) != 1)
			failures++;
		writes--;
		fired++;
	}
}

#ifdef __linux__
static int epfd = -1;
static struct epoll_event events[MAXEVENTS];
static int turn_epoll(void)
{
	int ret = epoll_wait(epfd, events, MAXEVENTS, 0);
	for (int i = 0; i < ret; i++)
		read_cb((int)events[i].data.u32);
	return ret;
}
#endif

static struct pollfd *pfds;
static int turn_poll(void)
{
	int ret = poll(pfds, (nfds_t)npairs, 0);
	for (int i = 0; i < npairs && ret > 0; i++) {
		if (pfds[i].revents) {
			ret--;
			read_cb(i);
		}
	}
	return ret;
}

static fd_set master;
static int maxfd_sel;
static int turn_select(void)
{
	fd_set rd;
	struct timeval tv = {0, 0};
	memcpy(&rd, &master, sizeof(rd));
	int ret = select(maxfd_sel + 1, &rd, NULL, NULL, &tv);
	for (int i = 0; i < npairs && ret > 0; i++) {
		if (FD_ISSET(rfd[i], &rd)) {
			ret--;
			read_cb(i);
		}
	}
	return ret;
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: floor <epoll|poll|select> <npairs> <nactive> <nwrites> <iters> <warmup_ms> <budget_ms>\n");
		return 2;
	}
	const char *poller = argv[1];
	npairs = atoi(argv[2]);
	nactive = atoi(argv[3]);
	nwrites = atoi(argv[4]);
	int iters = atoi(argv[5]);
	double warmup_us = atof(argv[6]) * 1000.0;
	double budget_us = atof(argv[7]) * 1000.0;
	if (npairs < 1 || nactive < 1 || nactive > npairs || iters < 1) {
		fprintf(stderr, "floor: bad sizes\n");
		return 2;
	}

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	rfd = calloc(npairs, sizeof(int));
	wfd = calloc(npairs, sizeof(int));
	double *times = calloc(iters, sizeof(double));
	if (rfd == NULL || wfd == NULL || times == NULL) {
		perror("floor: calloc");
		return 1;
	}
	for (int i = 0; i < npairs; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1) {
			fprintf(stderr, "floor: socketpair #%d: %s\n", i, strerror(errno));
			return 1;
		}
		rfd[i] = sv[0];
		wfd[i] = sv[1];
	}

	int (*turn)(void) = NULL;
	if (strcmp(poller, "poll") == 0) {
		pfds = calloc(npairs, sizeof(*pfds));
		for (int i = 0; i < npairs; i++) {
			pfds[i].fd = rfd[i];
			pfds[i].events = POLLIN;
		}
		turn = turn_poll;
	} else if (strcmp(poller, "select") == 0) {
		FD_ZERO(&master);
		for (int i = 0; i < npairs; i++) {
			if (rfd[i] >= FD_SETSIZE || wfd[i] >= FD_SETSIZE) {
				fprintf(stderr, "floor: fd %d >= FD_SETSIZE\n", rfd[i]);
				return 1;
			}
			FD_SET(rfd[i], &master);
			if (rfd[i] > maxfd_sel)
				maxfd_sel = rfd[i];
		}
		turn = turn_select;
	}
#ifdef __linux__
	else if (strcmp(poller, "epoll") == 0) {
		epfd = epoll_create1(EPOLL_CLOEXEC);
		for (int i = 0; i < npairs; i++) {
			struct epoll_event ev;
			memset(&ev, 0, sizeof(ev));
			ev.events = EPOLLIN;
			ev.data.u32 = (uint32_t)i;
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, rfd[i], &ev) == -1) {
				perror("floor: epoll_ctl");
				return 1;
			}
		}
		turn = turn_epoll;
	}
#endif
	if (turn == NULL) {
		fprintf(stderr, "floor: unknown poller %s\n", poller);
		return 2;
	}

	long waits = 0;
	double spent = 0, warm = 0;
	int done = 0;
	/* Warm-up iterations (untimed) until <warmup_ms> went by, at least one; then <iters> timed
	 * ones, stopping early once <budget_ms> is spent and 3 are done. */
	for (int it = 0; done < iters; it++) {
		int space = npairs / nactive;
		fired = 0;
		for (int i = 0; i < nactive; i++, fired++)
			send(wfd[i * space], "e", 1, MSG_NOSIGNAL);
		count = 0;
		writes = nwrites;
		waits = 0;
		double t0 = now_us();
		do {
			turn();
			waits++;
		} while (count != fired && failures == 0);
		double t1 = now_us();
		if (failures) {
			fprintf(stderr, "floor: %ld failures\n", failures);
			return 1;
		}
		if (it == 0 || warm < warmup_us) {
			warm += t1 - t0;
		} else {
			times[done++] = t1 - t0;
			spent += t1 - t0;
			if (spent > budget_us && done >= 3)
				break;
		}
	}

	printf("{\"impl\":\"c\",\"poller\":\"%s\",\"n\":%d,\"a\":%d,\"w\":%d,\"events\":%ld,\"waits\":%ld,\"usPerIter\":[",
	       poller, npairs, nactive, nwrites, count, waits);
	for (int i = 0; i < done; i++)
		printf("%s%.3f", i ? "," : "", times[i]);
	printf("]}\n");
	return 0;
}
