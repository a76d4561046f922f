/*
 * VBT transducer firmware for the ATmega328P (Arduino Nano / Uno class, 16 MHz).
 *
 * Speaks the native protocol of firmware_bridge/PROTOCOL.md, version 1, byte for byte:
 * COBS frames with a 0x00 delimiter; payload = type u8, seq u16, body, CRC-32 (zlib's).
 *
 * Pins (Arduino names in brackets)
 *   PD2 / INT0 [D2]  encoder channel A      PD0 / RXD [D0]  serial in  (from the USB bridge)
 *   PD3 / INT1 [D3]  encoder channel B      PD1 / TXD [D1]  serial out (to the USB bridge)
 *   PD4        [D4]  optional push button to ground (BUTTON frames)
 *   PB5        [D13] on-board LED: lit while streaming
 * Port D has no output pin other than TXD (driven by the USART, not by PORTD writes), and PORTD
 * is written once at start-up (pull-ups) before the interrupts are enabled, so no port write can
 * ever look like an encoder edge.
 *
 * Timing
 *   Timer1 runs free at F_CPU/8 (2 ticks per µs); its overflow interrupt extends it, so the
 *   device clock is a 32-bit microsecond count that wraps every 71.6 min like the protocol says.
 *   Compare match A schedules the samples: one every `period_us` (1000 µs at power-up), each an
 *   exact multiple of the period on the device clock; a sample is the absolute count read in
 *   the compare interrupt (a few µs after its nominal time).
 *
 * Quadrature decoding and the worst-case edge rate
 *   INT0 and INT1 fire on every edge of A and of B (ISC00, ISC10: any logical change), so all
 *   four edges of a cycle are counted. The handler (shared by both vectors) reads PIND once and
 *   looks the (previous state, new state) pair up in a 16-entry table: +1, -1, 0, or "both pins
 *   changed" (an edge was missed: counted in qe_errors, and the count steps by 2 in the last
 *   direction, which is right for a fast monotonic pull, the only way it can happen).
 *   Decoding is exact while every edge is read before the next one, on either pin, arrives.
 *   AVR interrupts do not nest, and INT0/INT1 have the highest priority, so an edge waits at
 *   most for the one handler already running, plus its own entry up to the PIND read (~45
 *   cycles). The sample handler (~300 cycles) re-enables interrupts as its first instruction
 *   (ISR_NOBLOCK), so the handlers that can delay an edge are the edge handler itself (~115
 *   cycles, for an edge on the other pin), USART RX (~65), UDRE (~60), Timer1 overflow (~55) and
 *   the main loop's few-cycle atomic reads: worst case ~160 cycles = 10 µs at 16 MHz, so edges
 *   10 µs apart (100,000 edges/s, 10 m/s at 0.1 mm per count with an ideal encoder) are all
 *   counted. Measured in simavr over a simulated set: edge to PIND read p50 53, max 112 cycles.
 *   benchmarks/bench_firmware.py finds no edge lost up to 12 m/s peak (a handler runs back to
 *   back with the next), the first losses at 14 m/s; above ~9 m/s the main loop gets too little
 *   of the CPU to keep frames within 2 ms (each edge costs ~115 cycles: 40,000 edges/s, 4 m/s,
 *   use 29 % of the CPU). Rated speed: 4 m/s at 0.1 mm per count, which leaves room for a real
 *   encoder's phase error (its A-to-B spacing shorter than a quarter cycle).
 *
 * Link
 *   BAUD (default 500000; the ATmega328P at 16 MHz makes 250 k, 500 k and 1 M exactly, with U2X)
 *   and FRAME_SAMPLES (default 1: one SAMPLES frame per sample, 20 bytes per ms at 1 kHz, 40 % of
 *   500 kbaud) set the latency: a sample leaves the UART ~0.4 ms after it is taken. Build with
 *   BAUD=115200 FRAME_SAMPLES=8 for the protocol's 115200-baud link (a frame every 8 ms).
 *   Transmission is interrupt driven (256-byte ring, UDRE interrupt), reception too (RX ring).
 *
 * Build-time settings (make VAR=value): COUNTS_PER_M (default 10000: 0.1 mm per count),
 * BAUD, FRAME_SAMPLES, DEVICE_ID (default: chosen at first power-up and kept in the EEPROM).
 */

#ifndef F_CPU
#define F_CPU 16000000UL
#endif
#ifndef BAUD
#define BAUD 500000UL
#endif
#ifndef COUNTS_PER_M
#define COUNTS_PER_M 10000UL
#endif
#ifndef FRAME_SAMPLES
#define FRAME_SAMPLES 1
#endif

#define FW_MAJOR 1
#define FW_MINOR 0
#define FW_PATCH 0
#define PROTOCOL_VERSION 1

#include <stdint.h>
#include <avr/eeprom.h>
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <avr/sleep.h>

#ifdef SIMAVR
/* Tells simavr the part and its clock (an ELF section that is never flashed). */
#include "avr_mcu_section.h"
AVR_MCU(F_CPU, "atmega328p");
#endif

#if FRAME_SAMPLES < 1 || FRAME_SAMPLES > 64
#error "FRAME_SAMPLES must be 1..64"
#endif

/* Frame types (PROTOCOL.md §4, §5). */
#define T_HELLO 0x01
#define T_SAMPLES 0x02
#define T_HEARTBEAT 0x03
#define T_BUTTON 0x04
#define T_ACK 0x05
#define C_PING 0x81
#define C_START 0x82
#define C_STOP 0x83
#define C_SET_RATE 0x84
#define C_IDENTIFY 0x85
#define ACK_OK 0
#define ACK_UNKNOWN 1
#define ACK_BAD_ARG 2
#define ACK_BAD_LEN 3

#define HEARTBEAT_US 500000UL
#define BUTTON_DEBOUNCE_US 20000UL
#define MAX_PAYLOAD (3 + 11 + 2 * 63 + 4)

/* ---- shared with the interrupt handlers ---------------------------------------------- */

volatile int32_t enc_count;          /* absolute count, up positive */
volatile uint16_t qe_errors;         /* transitions where both pins changed (a missed edge) */
static volatile uint8_t qe_state4;   /* last ((B << 1) | A) << 2: the table's row */
static volatile int8_t qe_dir = 1;   /* direction of the last valid step */
static volatile uint32_t t1_ovf;     /* Timer1 overflows: the clock's upper bits */

/* Index: previous state * 4 + new state, state = (B << 1) | A. Forward: 0 -> 1 -> 3 -> 2 -> 0. */
#define QX 2 /* both pins changed */
static const int8_t qe_table[16] = {
    0, +1, -1, QX,
    -1, 0, QX, +1,
    +1, QX, 0, -1,
    QX, -1, +1, 0,
};

typedef struct {
    uint32_t t_us;
    int32_t count;
    uint16_t period_us;
} sample_t;

#define SRING 32 /* power of two */
static volatile sample_t sring[SRING];
static volatile uint8_t s_head, s_tail; /* ISR writes head, main loop advances tail */
static volatile uint8_t streaming;
static volatile uint16_t period_us = 1000;
static volatile uint32_t sample_due;    /* its time on the device clock, µs */
static volatile uint16_t dropped;       /* samples that found the ring full (saturates) */
static volatile uint32_t last_t_us;     /* latest sample taken (queued or not) */
static volatile int32_t last_count;

static volatile uint8_t tx_buf[256];
static volatile uint8_t tx_head, tx_tail; /* uint8_t wraps with the buffer */
#define RXRING 64
static volatile uint8_t rx_buf[RXRING];
static volatile uint8_t rx_head, rx_tail;

/* ---- interrupt handlers ----------------------------------------------------------------- */

ISR(INT0_vect)
{
    uint8_t s4 = PIND & 0x0C; /* (B << 3) | (A << 2) */
    int8_t d = qe_table[qe_state4 | (s4 >> 2)];
    qe_state4 = s4;
    if (d == QX) {
        d = qe_dir * 2;
        qe_errors++;
    } else if (d) {
        qe_dir = d;
    }
    enc_count += d;
}
ISR_ALIAS(INT1_vect, INT0_vect);

ISR(TIMER1_OVF_vect)
{
    t1_ovf++;
}

/* Timer1 ticks (2 per µs), low 32 bits, with interrupts already off: byte moves, no shifts. */
static inline uint32_t ticks_locked(void)
{
    uint16_t t = TCNT1;
    uint16_t hi = (uint16_t)t1_ovf;
    if ((TIFR1 & _BV(TOV1)) && t < 0x8000)
        hi++; /* overflowed since its handler last ran */
    return (uint32_t)hi << 16 | t;
}

/* The device clock in µs: the 33-bit tick count halved. Interrupts are off only for the reads. */
static uint32_t clock_us(void)
{
    uint8_t sreg = SREG;
    cli();
    uint16_t t = TCNT1;
    uint32_t ovf = t1_ovf;
    uint8_t tov = (TIFR1 & _BV(TOV1)) && t < 0x8000;
    SREG = sreg;
    return ((ovf + tov) << 15) | (t >> 1);
}

static volatile uint32_t due_ticks;  /* when the next sample is due, in ticks */

/* One sample per period, at exact multiples of the period on the device clock.
   ISR_NOBLOCK: interrupts are re-enabled as the handler's first instruction, so an encoder edge
   never waits for it (it takes ~300 cycles); the only sections that block are the clock and count
   reads below. It cannot re-enter itself: OCR1A, which lies behind the timer until the handler's
   last lines move it ahead, matches again only after a whole timer turn (32 ms). */
ISR(TIMER1_COMPA_vect, ISR_NOBLOCK)
{
    cli();
    uint32_t now = ticks_locked();
    int32_t c = enc_count;
    sei();
    if ((int32_t)(now - due_ticks) >= 0) {
        uint32_t t = sample_due;
        uint16_t per = period_us;
        last_t_us = t;
        last_count = c;
        if (streaming) {
            uint8_t h = s_head;
            if ((uint8_t)(h - s_tail) < SRING) {
                volatile sample_t *p = &sring[h & (SRING - 1)];
                p->t_us = t;
                p->count = c;
                p->period_us = per;
                s_head = h + 1;
            } else if (dropped != 0xFFFF) {
                dropped++;
            }
        }
        sample_due = t + per;
        due_ticks += (uint32_t)per << 1;
    }
    uint32_t ahead = due_ticks - now;
    if ((int32_t)ahead < 64)
        OCR1A = (uint16_t)now + 64; /* due (or overdue): take it in 32 µs, with its nominal time */
    else if (ahead > 60000)
        OCR1A = (uint16_t)now + 50000; /* a wake-up on the way to a long period */
    else
        OCR1A = (uint16_t)due_ticks;
}

ISR(USART_RX_vect)
{
    uint8_t b = UDR0;
    uint8_t h = rx_head;
    if ((uint8_t)(h - rx_tail) < RXRING) {
        rx_buf[h & (RXRING - 1)] = b;
        rx_head = h + 1;
    } /* else: the host outran us; the frame fails its CRC and the host resends */
}

ISR(USART_UDRE_vect)
{
    uint8_t t = tx_tail;
    if (t != tx_head) {
        UDR0 = tx_buf[t];
        tx_tail = t + 1;
    } else {
        UCSR0B &= ~_BV(UDRIE0);
    }
}

/* ---- transmit side ------------------------------------------------------------------------- */

static uint8_t tx_free(void)
{
    return (uint8_t)(255 - (uint8_t)(tx_head - tx_tail));
}

static void tx_kick(void)
{
    UCSR0B |= _BV(UDRIE0);
}

static const uint32_t crc_nibble[16] PROGMEM = {
    0x00000000UL, 0x1DB71064UL, 0x3B6E20C8UL, 0x26D930ACUL, 0x76DC4190UL, 0x6B6B51F4UL,
    0x4DB26158UL, 0x5005713CUL, 0xEDB88320UL, 0xF00F9344UL, 0xD6D6A3E8UL, 0xCB61B38CUL,
    0x9B64C2B0UL, 0x86D3D2D4UL, 0xA00AE278UL, 0xBDBDF21CUL,
};

/* CRC-32 (IEEE, reflected, zlib.crc32) with a 16-entry table: ~60 cycles a byte, 64 bytes of flash. */
static uint32_t crc32(const uint8_t *p, uint8_t n)
{
    uint32_t c = 0xFFFFFFFFUL;
    while (n--) {
        c ^= *p++;
        c = pgm_read_dword(&crc_nibble[c & 0x0F]) ^ (c >> 4);
        c = pgm_read_dword(&crc_nibble[c & 0x0F]) ^ (c >> 4);
    }
    return ~c;
}

static uint8_t pl[MAX_PAYLOAD];
static uint8_t pl_len;
static uint16_t tx_seq;

static void put8(uint8_t v) { pl[pl_len++] = v; }
static void put16(uint16_t v) { put8(v); put8(v >> 8); }
static void put32(uint32_t v) { put16(v); put16(v >> 16); }

static void begin(uint8_t type)
{
    pl_len = 0;
    put8(type);
    put16(tx_seq);
}

/* CRC, COBS-encode into the TX ring, delimiter. The caller made sure there is room:
   a payload of n bytes takes at most n + 2 + 1 bytes on the wire (n < 254). */
static void send(void)
{
    put32(crc32(pl, pl_len));
    uint8_t h = tx_head;
    uint8_t code_at = h++;
    uint8_t code = 1;
    for (uint8_t i = 0; i < pl_len; i++) {
        uint8_t b = pl[i];
        if (b == 0) {
            tx_buf[code_at] = code;
            code_at = h++;
            code = 1;
        } else {
            tx_buf[h++] = b;
            code++;
        }
    }
    tx_buf[code_at] = code;
    tx_buf[h++] = 0;
    tx_head = h; /* publish the whole frame at once */
    tx_seq++;
    tx_kick();
}

static uint8_t room_for(uint8_t payload_bytes)
{
    return tx_free() >= (uint8_t)(payload_bytes + 3);
}

/* ---- identity ---------------------------------------------------------------------------- */

static uint32_t device_id;
static uint32_t boot_id;

static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352DUL;
    x ^= x >> 15;
    x *= 0x846CA68BUL;
    x ^= x >> 16;
    return x;
}

/* Noise for the ids: the LSBs of the internal temperature sensor and of Timer1 against the ADC's
   own RC-derived conversion time. Poor entropy, so the boot id also mixes in a boot counter
   kept in the EEPROM: a restart always changes it, which is what the host needs. */
static uint32_t noise(void)
{
    uint32_t x = 0;
    ADMUX = _BV(REFS1) | _BV(REFS0) | 0x08; /* 1.1 V reference, temperature sensor */
    ADCSRA = _BV(ADEN) | _BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0);
    for (uint8_t i = 0; i < 32; i++) {
        ADCSRA |= _BV(ADSC);
        for (uint16_t w = 0; (ADCSRA & _BV(ADSC)) && w < 2000; w++)
            ; /* start-up only: the encoder interrupts are not enabled yet */
        x = (x << 3 | x >> 29) ^ ADC ^ TCNT1;
    }
    ADCSRA = 0;
    return x;
}

#define EE_DEVICE_ID ((uint32_t *)0)
#define EE_BOOTS ((uint32_t *)4)

static void identity_init(void)
{
    uint32_t n = noise();
#ifdef DEVICE_ID
    device_id = DEVICE_ID;
#else
    device_id = eeprom_read_dword(EE_DEVICE_ID);
    if (device_id == 0 || device_id == 0xFFFFFFFFUL) {
        device_id = mix32(n ^ 0x56425401UL);
        eeprom_write_dword(EE_DEVICE_ID, device_id);
    }
#endif
    uint32_t boots = eeprom_read_dword(EE_BOOTS) + 1;
    eeprom_write_dword(EE_BOOTS, boots);
    boot_id = mix32(boots ^ mix32(n + device_id));
}

/* ---- frames ---------------------------------------------------------------------------------- */

static void send_hello(void)
{
    begin(T_HELLO);
    put8(PROTOCOL_VERSION);
    put8(FW_MAJOR);
    put8(FW_MINOR);
    put8(FW_PATCH);
    put32(device_id);
    put32(COUNTS_PER_M);
    put32(period_us);
    put32(boot_id);
    put8(streaming ? 1 : 0);
    send();
}

static void send_ack(uint8_t cmd, uint16_t cmd_seq, uint8_t status, uint32_t value)
{
    begin(T_ACK);
    put8(cmd);
    put16(cmd_seq);
    put8(status);
    put32(value);
    send();
}

static uint32_t sent_t_us;   /* the last sample sent */
static int32_t sent_count;
static uint8_t have_sent;

/* One SAMPLES frame from the queued samples: up to `max_n`, equally spaced, same period,
   deltas that fit in an i16. Returns the number of samples taken from the queue. */
static uint8_t send_samples(uint8_t max_n)
{
    uint8_t tail = s_tail;
    uint8_t avail = (uint8_t)(s_head - tail);
    if (avail == 0)
        return 0;
    if (max_n > avail)
        max_n = avail;
    volatile sample_t *first = &sring[tail & (SRING - 1)];
    uint16_t per = first->period_us;
    uint32_t t = first->t_us;
    int32_t c = first->count;
    begin(T_SAMPLES);
    put32(t);
    put32(c);
    put16(per);
    uint8_t n_at = pl_len;
    put8(1);
    uint8_t n = 1;
    while (n < max_n) {
        volatile sample_t *p = &sring[(uint8_t)(tail + n) & (SRING - 1)];
        int32_t d = p->count - c;
        if (p->period_us != per || p->t_us != t + per || d > 32767 || d < -32768)
            break;
        put16((uint16_t)d);
        t = p->t_us;
        c = p->count;
        n++;
    }
    pl[n_at] = n;
    send();
    s_tail = tail + n;
    sent_t_us = t;
    sent_count = c;
    have_sent = 1;
    return n;
}

static void send_heartbeat(void)
{
    uint32_t t;
    int32_t c;
    uint16_t lost;
    uint8_t sreg = SREG;
    cli();
    if (streaming && have_sent) {
        t = sent_t_us;
        c = sent_count;
    } else {
        t = last_t_us;
        c = last_count;
    }
    lost = dropped;
    dropped = 0;
    SREG = sreg;
    begin(T_HEARTBEAT);
    put32(t);
    put32(c);
    put8(streaming ? 1 : 0);
    put16(lost);
    send();
}

static void send_button(uint32_t t, uint8_t pressed)
{
    begin(T_BUTTON);
    put32(t);
    put8(pressed);
    send();
}

/* ---- host commands ------------------------------------------------------------------------- */

static uint8_t cmd_raw[16]; /* COBS bytes of the command being received */
static uint8_t cmd_len;
static uint8_t cmd_overflow;

/* A command whose answer waits for queued samples to go out first (STOP, SET_RATE). */
static uint8_t pend_cmd;
static uint16_t pend_seq;
static uint32_t pend_arg;
static uint8_t flush_left;

static void set_streaming(uint8_t on)
{
    streaming = on;
    if (on)
        PORTB |= _BV(PB5);
    else
        PORTB &= ~_BV(PB5);
}

static void handle_command(uint8_t type, uint16_t seq, const uint8_t *body, uint8_t n)
{
    uint8_t want = (type == C_PING || type == C_SET_RATE) ? 4 : 0;
    if (type < C_PING || type > C_IDENTIFY) {
        send_ack(type, seq, ACK_UNKNOWN, 0);
        return;
    }
    if (n != want) {
        send_ack(type, seq, ACK_BAD_LEN, 0);
        return;
    }
    uint32_t arg = want ? (uint32_t)body[0] | (uint32_t)body[1] << 8 | (uint32_t)body[2] << 16 |
                              (uint32_t)body[3] << 24
                        : 0;
    switch (type) {
    case C_PING:
        send_ack(type, seq, ACK_OK, arg);
        break;
    case C_START:
        set_streaming(1);
        send_ack(type, seq, ACK_OK, 0);
        break;
    case C_IDENTIFY:
        send_ack(type, seq, ACK_OK, 0);
        send_hello();
        break;
    case C_SET_RATE:
        if (arg < 100 || arg > 65535) {
            send_ack(type, seq, ACK_BAD_ARG, 0);
            break;
        }
        /* fall through: flush first, like STOP */
    case C_STOP:
        if (type == C_STOP)
            set_streaming(0);
        pend_cmd = type;
        pend_seq = seq;
        pend_arg = arg;
        flush_left = (uint8_t)(s_head - s_tail);
        break;
    }
}

static void finish_pending(void)
{
    if (pend_cmd == C_SET_RATE) {
        uint8_t sreg = SREG;
        cli();
        period_us = (uint16_t)pend_arg; /* the next sample is one new period after the last */
        SREG = sreg;
    }
    send_ack(pend_cmd, pend_seq, ACK_OK, pend_cmd == C_SET_RATE ? pend_arg : 0);
    pend_cmd = 0;
}

/* COBS-decode the received frame in place-free fashion and act on it. */
static void on_frame(void)
{
    uint8_t out[16];
    uint8_t n = 0, i = 0;
    while (i < cmd_len) {
        uint8_t code = cmd_raw[i++];
        if (code == 0 || i + code - 1 > cmd_len)
            return; /* malformed */
        for (uint8_t k = 1; k < code; k++)
            out[n++] = cmd_raw[i++];
        if (code != 0xFF && i < cmd_len)
            out[n++] = 0;
    }
    if (n < 7)
        return;
    uint32_t crc = (uint32_t)out[n - 4] | (uint32_t)out[n - 3] << 8 | (uint32_t)out[n - 2] << 16 |
                   (uint32_t)out[n - 1] << 24;
    if (crc32(out, n - 4) != crc)
        return;
    if (out[0] < 0x80)
        return; /* a device frame echoed back: not a command */
    handle_command(out[0], out[1] | out[2] << 8, out + 3, n - 7);
}

/* Take received bytes up to the end of one frame; 1 if a frame was handled. */
static uint8_t poll_rx(void)
{
    while (rx_tail != rx_head) {
        uint8_t b = rx_buf[rx_tail & (RXRING - 1)];
        rx_tail++;
        if (b == 0) {
            uint8_t had = cmd_len && !cmd_overflow;
            if (had)
                on_frame();
            cmd_len = 0;
            cmd_overflow = 0;
            if (had)
                return 1;
        } else if (cmd_len < sizeof cmd_raw) {
            cmd_raw[cmd_len++] = b;
        } else {
            cmd_overflow = 1; /* longer than any command: dropped up to the next 0x00 */
        }
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(void)
{
    /* Pins: PD2, PD3 encoder inputs, PD4 button, all with pull-ups (the only PORTD write). */
    DDRD = 0;
    PORTD = _BV(PD2) | _BV(PD3) | _BV(PD4);
    DDRB = _BV(PB5);
    PORTB = 0;

    /* Timer1: normal mode, clk/8 = 2 MHz; overflow and compare A interrupts. */
    TCCR1A = 0;
    TCCR1B = _BV(CS11);
    identity_init();

    /* USART0: BAUD 8N1, double speed. */
    UCSR0A = _BV(U2X0); /* before UBRR0: simavr takes the rate at the UBRR0 write */
    UBRR0 = (uint16_t)((F_CPU + 4UL * BAUD) / (8UL * BAUD) - 1);
    UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
    UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);

    /* Encoder: any change on INT0 and INT1. */
    qe_state4 = PIND & 0x0C;
    EICRA = _BV(ISC00) | _BV(ISC10);
    EIFR = _BV(INTF0) | _BV(INTF1);
    EIMSK = _BV(INT0) | _BV(INT1);

    cli();
    sample_due = clock_us() + period_us;
    due_ticks = sample_due << 1;
    OCR1A = (uint16_t)due_ticks;
    TIFR1 = _BV(OCF1A) | _BV(TOV1);
    TIMSK1 = _BV(OCIE1A) | _BV(TOIE1);
    sei();

    /* A delimiter before the first frame, then HELLO (PROTOCOL.md §2, §4). */
    tx_buf[tx_head++] = 0;
    send_hello();

    uint32_t next_hb = clock_us() + HEARTBEAT_US;
    uint8_t button = (PIND >> PD4) & 1;
    uint8_t button_seen = button;
    uint32_t button_since = 0;
    set_sleep_mode(SLEEP_MODE_IDLE);

    for (;;) {
        uint8_t busy = 0;
        uint32_t now = clock_us();

        if (pend_cmd) {
            /* Flush what was queued when the command came, then answer it. */
            while (flush_left && room_for(MAX_PAYLOAD))
                flush_left -= send_samples(flush_left < FRAME_SAMPLES ? flush_left : FRAME_SAMPLES);
            if (!flush_left && room_for(12))
                finish_pending();
            busy = 1;
        } else if (room_for(40) && poll_rx()) {
            busy = 1; /* ACK and HELLO need at most 35 bytes */
        }

        if (streaming && !pend_cmd && (uint8_t)(s_head - s_tail) >= FRAME_SAMPLES &&
            room_for(MAX_PAYLOAD)) {
            send_samples(FRAME_SAMPLES);
            busy = 1;
        }

        if ((int32_t)(now - next_hb) >= 0 && room_for(14)) {
            send_heartbeat();
            next_hb += HEARTBEAT_US;
            if ((int32_t)(now - next_hb) >= 0)
                next_hb = now + HEARTBEAT_US;
        }

        uint8_t b = (PIND >> PD4) & 1;
        if (b != button_seen) {
            button_seen = b;
            button_since = now;
        } else if (b != button && now - button_since >= BUTTON_DEBOUNCE_US && room_for(10)) {
            button = b;
            send_button(button_since, !b); /* pressed pulls the pin low */
        }

        if (!busy) {
            /* Sleep until the next interrupt (a sample, an edge, a byte); the check and the
               sleep are atomic, so a byte that arrives in between still wakes us. */
            cli();
            if (rx_tail == rx_head && (!streaming || (uint8_t)(s_head - s_tail) < FRAME_SAMPLES)) {
                sleep_enable();
                sei();
                sleep_cpu();
                sleep_disable();
            }
            sei();
        }
    }
}
