/*
 * Firmware-in-the-loop harness: runs the transducer firmware in simavr (ATmega328P, 16 MHz),
 * drives its encoder pins from a file of edge times, and bridges its UART to a pty (or to a
 * log file).
 *
 *   vbt_sim --elf FW.elf --edges EDGES.bin [--pty [--link PATH]] [--host-input FILE]
 *           [--tx-log FILE] [--lead-ms MS] [--run-ms MS] [--garbage-ms T1,T2,..]
 *           [--garbage-bytes N] [--watch NAME=ADDR:SIZE ...] [--seed N]
 *
 * EDGES.bin: little-endian records {u64 cycle, u64 state}; state = (B << 1) | A. The first
 * record is the pins' state at power-up (its cycle is ignored); the others are pin changes at
 * `cycle` cycles after the motion starts.
 *
 * Time. Simulated time runs as fast as the simulator can go, held back only by the host: bytes
 * for the host wait in a buffer, and when the host falls behind by more than OUT_HIGH bytes the
 * simulation waits for it. Why: simulated time is the device's own clock (the protocol carries
 * it in every frame), so nothing on the host depends on wall-clock pacing, and running ahead of
 * the wall clock keeps the tests short. Assertions are made on simulated cycles, never on the
 * host's clock. The simulation starts when the host first writes to the pty (so a set is never
 * played to nobody); the motion starts --lead-ms of simulated time after that.
 *
 * Output on stdout (one line each): "PTY <path>", "START <cycle>" (the cycle at which the
 * motion's cycle 0 falls), "DONE <cycle>", then "WATCH <name> <value>" for each --watch.
 * --tx-log writes every byte the firmware sends as {u64 cycle at which its stop bit ends, u8}.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "avr_ioport.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_core.h"
#include "sim_cycle_timers.h"
#include "sim_interrupts.h"
#include "sim_irq.h"

#define FREQ 16000000UL
#define OUT_HIGH 16384
#define IO_PERIOD_CYCLES 1600 /* 100 µs: host bytes in, device bytes out */

typedef struct {
    uint64_t cycle;
    uint64_t state;
} edge_t;

static avr_t *avr;
static avr_irq_t *pin_a, *pin_b, *uart_in;
static edge_t *edges;
static size_t n_edges, next_edge = 1;
static avr_cycle_count_t motion_start, end_cycle;
static uint8_t pins_state;

static int master_fd = -1, slave_fd = -1;
static uint8_t outbuf[1 << 20];
static size_t out_len;
static uint8_t inbuf[4096];
static size_t in_len, in_pos;
static FILE *tx_log;
static avr_cycle_count_t cycles_per_byte = 200; /* until the firmware sets the baud */

static uint64_t *garbage_at;
static size_t n_garbage, next_garbage;
static int garbage_bytes = 24;
static uint64_t rng_state = 88172645463325252ULL;
static volatile sig_atomic_t stop_requested;

static void die(const char *msg)
{
    fprintf(stderr, "vbt_sim: %s\n", msg);
    exit(2);
}

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void set_pins(uint8_t state)
{
    pins_state = state;
    /* The encoder drives the lines (push-pull), so the AVR's pull-ups do not decide their level. */
    avr_ioport_external_t ext = {.name = 'D', .mask = 0x0C, .value = (uint8_t)((state & 3) << 2)};
    avr_ioctl(avr, AVR_IOCTL_IOPORT_SET_EXTERNAL('D'), &ext);
    avr_raise_irq(pin_a, state & 1);
    avr_raise_irq(pin_b, (state >> 1) & 1);
}

static avr_cycle_count_t edge_timer(avr_t *a, avr_cycle_count_t when, void *param)
{
    (void)a;
    (void)param;
    (void)when;
    while (next_edge < n_edges && motion_start + edges[next_edge].cycle <= avr->cycle) {
        set_pins((uint8_t)edges[next_edge].state);
        next_edge++;
    }
    if (next_edge < n_edges)
        return motion_start + edges[next_edge].cycle;
    return 0;
}

static void uart_out(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)param;
    if (out_len < sizeof outbuf)
        outbuf[out_len++] = (uint8_t)value;
    if (tx_log) {
        /* simavr reports the byte when it is written to UDR; it is on the wire one byte time later. */
        uint64_t c = avr->cycle + cycles_per_byte;
        uint8_t b = (uint8_t)value;
        fwrite(&c, 8, 1, tx_log);
        fwrite(&b, 1, 1, tx_log);
    }
}

/* Write what the host can take; if it is far behind, wait for it (this paces the simulation). */
static void flush_out(int wait)
{
    if (master_fd < 0) {
        out_len = 0;
        return;
    }
    while (out_len) {
        ssize_t n = write(master_fd, outbuf, out_len);
        if (n > 0) {
            memmove(outbuf, outbuf + n, out_len - (size_t)n);
            out_len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            out_len = 0; /* host gone: drop (it cannot read it anyway) */
            return;
        }
        if (!wait && out_len < OUT_HIGH)
            return;
        if (stop_requested)
            return;
        struct pollfd p = {.fd = master_fd, .events = POLLOUT};
        poll(&p, 1, 100);
    }
}

static void read_host(void)
{
    if (master_fd < 0 || in_len == sizeof inbuf)
        return;
    if (in_pos == in_len)
        in_pos = in_len = 0;
    ssize_t n = read(master_fd, inbuf + in_len, sizeof inbuf - in_len);
    if (n > 0)
        in_len += (size_t)n;
}

static void inject_garbage(void)
{
    for (int i = 0; i < garbage_bytes && out_len < sizeof outbuf; i++) {
        uint8_t b = (uint8_t)rnd();
        outbuf[out_len++] = b;
    }
}

static avr_cycle_count_t io_timer(avr_t *a, avr_cycle_count_t when, void *param)
{
    (void)a;
    (void)param;
    read_host();
    /* Host bytes reach the UART no faster than the line rate (4 per 100 µs < 1 per 22 µs). */
    int rx_on = avr->data[0xC1] & 0x10; /* UCSR0B.RXEN0: bytes sent before it would be lost */
    for (int k = 0; rx_on && k < 4 && in_pos < in_len; k++)
        avr_raise_irq(uart_in, inbuf[in_pos++]);
    while (next_garbage < n_garbage && motion_start && motion_start + garbage_at[next_garbage] <= when) {
        inject_garbage();
        next_garbage++;
    }
    flush_out(0);
    return when + IO_PERIOD_CYCLES;
}

static void on_term(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void no_sleep(avr_t *a, avr_cycle_count_t how_long)
{
    (void)a;
    (void)how_long; /* simulated time is not wall-clock time: never wait for it */
}

/*
 * simavr's own run step (avr_callback_run_raw), with one difference: when the core sleeps and a
 * cycle timer (here: an encoder edge, a UART byte, Timer1) raises an interrupt, the core wakes at
 * that cycle, as the hardware does. simavr 1.6 would first skip ahead to the next timer event,
 * serving the edge's interrupt hundreds of cycles late, which the firmware would then (rightly)
 * count as a missed quadrature step.
 */
static void run_step(avr_t *a)
{
    avr_flashaddr_t new_pc = a->pc;
    if (a->state == cpu_Running)
        new_pc = avr_run_one(a);
    avr_cycle_count_t sleep = avr_cycle_timer_process(a);
    a->pc = new_pc;
    if (a->state == cpu_Sleeping) {
        if (!a->sreg[S_I]) {
            a->state = cpu_Done;
            return;
        }
        a->cycle += avr_has_pending_interrupts(a) ? 1 : 1 + sleep;
    }
    if ((a->state == cpu_Running || a->state == cpu_Sleeping) && a->interrupt_state)
        avr_service_interrupts(a);
}

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? (size_t)n : 1);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("short read");
    fclose(f);
    *len = (size_t)n;
    return buf;
}

int main(int argc, char **argv)
{
    const char *elf = NULL, *edges_path = NULL, *host_input = NULL, *tx_log_path = NULL, *link = NULL;
    int use_pty = 0;
    double lead_ms = 300.0, run_ms = -1.0;
    const char *watch[16];
    int n_watch = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--pty")) { use_pty = 1; continue; }
        if (!v) die("missing value");
        i++;
        if (!strcmp(a, "--elf")) elf = v;
        else if (!strcmp(a, "--edges")) edges_path = v;
        else if (!strcmp(a, "--host-input")) host_input = v;
        else if (!strcmp(a, "--tx-log")) tx_log_path = v;
        else if (!strcmp(a, "--link")) link = v;
        else if (!strcmp(a, "--lead-ms")) lead_ms = atof(v);
        else if (!strcmp(a, "--run-ms")) run_ms = atof(v);
        else if (!strcmp(a, "--garbage-bytes")) garbage_bytes = atoi(v);
        else if (!strcmp(a, "--seed")) rng_state ^= strtoull(v, NULL, 0) * 0x9E3779B97F4A7C15ULL;
        else if (!strcmp(a, "--watch")) { if (n_watch < 16) watch[n_watch++] = v; }
        else if (!strcmp(a, "--garbage-ms")) {
            char *s = strdup(v), *tok, *save;
            for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                garbage_at = realloc(garbage_at, (n_garbage + 1) * sizeof *garbage_at);
                garbage_at[n_garbage++] = (uint64_t)(atof(tok) * FREQ / 1000.0);
            }
        } else die("unknown option");
    }
    if (!elf || !edges_path)
        die("usage: vbt_sim --elf FW.elf --edges EDGES.bin [--pty] ...");

    size_t bytes;
    edges = slurp(edges_path, &bytes);
    if (!edges || bytes < sizeof(edge_t) || bytes % sizeof(edge_t))
        die("cannot read the edges file");
    n_edges = bytes / sizeof(edge_t);

    elf_firmware_t fw;
    memset(&fw, 0, sizeof fw);
    if (elf_read_firmware(elf, &fw) != 0)
        die("cannot read the firmware ELF");
    avr = avr_make_mcu_by_name(fw.mmcu[0] ? fw.mmcu : "atmega328p");
    if (!avr)
        die("unknown MCU");
    avr_init(avr);
    avr_load_firmware(avr, &fw);
    if (avr->frequency != FREQ)
        avr->frequency = FREQ; /* the firmware's AVR_MCU section says so too */
    avr->sleep = no_sleep;
    avr->run = run_step;
    avr->log = LOG_ERROR;

    uint32_t flags = 0; /* no console echo, no usleep on polling */
    avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    uart_in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), uart_out, NULL);
    pin_a = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 2);
    pin_b = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 3);
    set_pins((uint8_t)edges[0].state);

    if (tx_log_path && !(tx_log = fopen(tx_log_path, "wb")))
        die("cannot write the tx log");
    if (host_input) {
        size_t n;
        uint8_t *h = slurp(host_input, &n);
        if (!h || n > sizeof inbuf)
            die("cannot read the host input");
        memcpy(inbuf, h, n);
        in_len = n;
        free(h);
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);

    if (use_pty) {
        char name[256];
        if (openpty(&master_fd, &slave_fd, name, NULL, NULL) != 0)
            die("openpty failed");
        struct termios tio;
        tcgetattr(slave_fd, &tio);
        cfmakeraw(&tio); /* no echo, no line editing: bytes pass unchanged */
        tcsetattr(slave_fd, TCSANOW, &tio);
        fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) | O_NONBLOCK);
        if (link) {
            unlink(link);
            if (symlink(name, link) != 0)
                die("cannot create the link");
        }
        printf("PTY %s\n", link ? link : name);
        fflush(stdout);
        /* Start when the host speaks: a device plugged in is powered by its host. */
        while (!stop_requested) {
            struct pollfd p = {.fd = master_fd, .events = POLLIN};
            if (poll(&p, 1, 200) > 0 && (p.revents & POLLIN))
                break;
        }
        read_host();
    }

    /* The firmware sets the baud within its first few hundred cycles; after that the byte time
       is simavr's (start + 8 data + parity slot + stop = 11 bit times, rounded to µs). */
    motion_start = avr->cycle + (avr_cycle_count_t)(lead_ms * FREQ / 1000.0);
    if (run_ms >= 0)
        end_cycle = motion_start + (avr_cycle_count_t)(run_ms * FREQ / 1000.0);
    else
        end_cycle = motion_start + edges[n_edges - 1].cycle + FREQ;
    printf("START %llu\n", (unsigned long long)motion_start);
    fflush(stdout);
    if (n_edges > 1)
        avr_cycle_timer_register(avr, motion_start + edges[1].cycle - avr->cycle, edge_timer, NULL);
    avr_cycle_timer_register(avr, IO_PERIOD_CYCLES, io_timer, NULL);

    int baud_known = 0;
    const char *trace = getenv("VBT_SIM_TRACE_ADDR"); /* debugging: report changes of one byte */
    int trace_addr = trace ? (int)strtol(trace, NULL, 0) : -1;
    const char *dbg = getenv("VBT_SIM_DEBUG_CYCLE");
    avr_cycle_count_t dbg_from = dbg ? strtoull(dbg, NULL, 0) : 0;
    uint8_t traced = trace_addr >= 0 ? avr->data[trace_addr] : 0;
    while (!stop_requested && avr->cycle < end_cycle) {
        int state = avr_run(avr);
        if (state == cpu_Done || state == cpu_Crashed)
            die("the firmware crashed");
        if (dbg_from && avr->cycle >= dbg_from && avr->cycle < dbg_from + 900)
            fprintf(stderr, "PC %llu %x state=%d I=%d istate=%d pend=%d\n", (unsigned long long)avr->cycle, avr->pc,
                    avr->state, avr->sreg[S_I], avr->interrupt_state, avr_has_pending_interrupts(avr));
        if (trace_addr >= 0 && avr->data[trace_addr] != traced) {
            traced = avr->data[trace_addr];
            fprintf(stderr, "TRACE %llu %u pc=%x\n", (unsigned long long)avr->cycle, traced, avr->pc);
        }
        if (!baud_known && (avr->data[0xC4] | avr->data[0xC5])) {
            /* UBRR0L/H: bytes take 11 bit times in simavr's model */
            uint32_t ubrr = avr->data[0xC4] | (uint32_t)avr->data[0xC5] << 8;
            uint32_t div = (avr->data[0xC0] & 0x02) ? 8 : 16;
            uint32_t baud = FREQ / (ubrr + 1) / div;
            cycles_per_byte = (avr_cycle_count_t)(1000000 / (baud / 11)) * (FREQ / 1000000);
            baud_known = 1;
        }
    }
    flush_out(1);
    printf("DONE %llu\n", (unsigned long long)avr->cycle);
    for (int i = 0; i < n_watch; i++) {
        char name[64];
        unsigned addr = 0, size = 0;
        if (sscanf(watch[i], "%63[^=]=%i:%u", name, (int *)&addr, &size) != 3 || size > 4)
            die("bad --watch");
        uint32_t v = 0;
        for (unsigned k = 0; k < size; k++)
            v |= (uint32_t)avr->data[addr + k] << (8 * k);
        printf("WATCH %s %u\n", name, v);
    }
    fflush(stdout);
    if (tx_log)
        fclose(tx_log);
    if (use_pty) {
        /* Keep the pty until told to stop, so the host reads everything at its own pace. */
        while (!stop_requested)
            pause();
        if (link)
            unlink(link);
    }
    return 0;
}
