/* SPDX-License-Identifier: MIT */
/* notify: sd_notify by hand. "@name" addresses are in the abstract namespace. */
#include "config.h"

#include "ops/notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_un notify_addr;
static socklen_t notify_len;

bool notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	notify_len = 0;
	if (!path || (path[0] != '/' && path[0] != '@'))
		return false;
	size_t n = strlen(path);
	if (n < 2 || n >= sizeof notify_addr.sun_path)
		return false;
	memset(&notify_addr, 0, sizeof notify_addr);
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, path, n);
	if (path[0] == '@')
		notify_addr.sun_path[0] = '\0';
	/* Abstract names are exactly n bytes long, not NUL-terminated. */
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	return true;
}

int notify_send(const char *state)
{
	if (!notify_len)
		return 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
			   (const struct sockaddr *)&notify_addr, notify_len);
	int saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

int notify_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char msg[96];
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		 (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	return notify_send(msg);
}
