/* Test-only board: mk_hal.h implemented on a POSIX host over a TCP socket, so the real runtime can be driven by the
 * Python DeviceSession exactly as QEMU's `-serial tcp:...,server=on` is. Listens on 127.0.0.1 (port 0 = any),
 * prints "PORT <n>" on stdout, waits for one connection. The counter counts microseconds. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mcukit/mk_hal.h"

static int hal_fd = -1;
static uint64_t hal_t0_us;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void mk_hal_init(void) {
    hal_t0_us = now_us();
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (srv < 0 || bind(srv, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(srv, 1) != 0 ||
        getsockname(srv, (struct sockaddr *)&addr, &len) != 0) {
        perror("host_hal: listen");
        exit(2);
    }
    printf("PORT %u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
    /* Never wait forever: a test that died before connecting must not leave this process behind. */
    struct pollfd p = {srv, POLLIN, 0};
    if (poll(&p, 1, 20000) != 1) {
        fprintf(stderr, "host_hal: nobody connected\n");
        exit(2);
    }
    hal_fd = accept(srv, NULL, NULL);
    close(srv);
    if (hal_fd < 0) {
        perror("host_hal: accept");
        exit(2);
    }
    int one = 1;
    setsockopt(hal_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void mk_hal_write(const uint8_t *data, size_t n) {
    while (n > 0) {
        ssize_t k = send(hal_fd, data, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) exit(3); /* host went away */
        data += k;
        n -= (size_t)k;
    }
}

size_t mk_hal_read(uint8_t *data, size_t n, uint32_t timeout_ms) {
    struct pollfd p = {hal_fd, POLLIN, 0};
    int r = poll(&p, 1, (int)timeout_ms);
    if (r <= 0) return 0;
    ssize_t k = recv(hal_fd, data, n, 0);
    if (k == 0) exit(0); /* host closed the link: nothing more to serve */
    if (k < 0) return 0;
    return (size_t)k;
}

uint32_t mk_hal_counter(void) { return (uint32_t)(now_us() - hal_t0_us); }
uint32_t mk_hal_counter_hz(void) { return 1000000u; }
const char *mk_hal_counter_unit(void) { return "us"; }
uint32_t mk_hal_millis(void) { return (uint32_t)((now_us() - hal_t0_us) / 1000u); }

void mk_hal_exit(int code) {
    if (hal_fd >= 0) close(hal_fd);
    exit(code);
}

const char *mk_hal_board_name(void) { return "host-loopback"; }
