/* SPDX-License-Identifier: BSD-3-Clause
 *
 * http.c - a small HTTP/1.1 responder on the worker API.
 *
 * Keep-alive (HTTP/1.1 by default, HTTP/1.0 when asked, and then said so
 * in the answer), pipelined requests answered in order, Connection: close,
 * GET and HEAD of "/" (a fixed body) and "/bytes/N" (an N-byte body,
 * streamed as the send buffer allows), 404 for other paths, 405 for other
 * methods. No route takes a request body: a request with one is answered
 * before its body is read. A body of up to BODY_SKIP_MAX to a 405 is then
 * dropped as it arrives and the connection kept; anything else (a body to
 * GET or HEAD: 400; over BODY_SKIP_MAX: 413; chunked: 411; a client
 * waiting for 100-continue) and malformed requests (400) end in a
 * lingering close. Time limits: the listener's header timeout from the
 * accept or a request's first byte until its header is whole, its
 * keep-alive timeout between requests (both close with a FIN, as nginx
 * does), its send timeout while answering (the API's).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "apps.h"

#define HDR_MAX 8192u          /* request line + headers */
#define BODY_MAX (1u << 30)    /* /bytes/N limit */
#define BODY_SKIP_MAX 65536u   /* request body we drop and keep the connection */

static const char root_body[] = "Hello from mpstack\n";
static const char notfound_body[] = "not found\n";
static char fill[16384];


struct http_req {
	int status;           /* 200, 400, 404, 405, 411, 413 */
	int keep_alive;
	int http10;           /* an HTTP/1.0 request */
	int head;
	int get_or_head;      /* a method we serve */
	int chunked;          /* Transfer-Encoding given */
	int expect;           /* Expect: 100-continue */
	int has_len;          /* Content-Length given */
	uint32_t hdr_len;     /* through the blank line */
	uint32_t content_len; /* request body */
	uint32_t body_len;    /* response body */
	const char *body;     /* NULL: stream body_len bytes of fill */
};

/* 1 if the comma-separated header value holds token (any case). */
static int
value_has(const char *v, size_t n, const char *token)
{
	size_t t = strlen(token);

	while (n > 0) {
		const char *comma = memchr(v, ',', n);
		size_t item = comma != NULL ? (size_t)(comma - v) : n, k = item;
		const char *s = v;

		while (k > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			k--;
		}
		while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
			k--;
		if (k == t && strncasecmp(s, token, t) == 0)
			return 1;
		if (comma == NULL)
			break;
		v += item + 1;
		n -= item + 1;
	}
	return 0;
}

static int
parse_u32(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Sets the route's status and body from the request target. */
static void
route(struct http_req *r, const char *path, size_t n)
{
	uint32_t len;

	if (n == 1 && path[0] == '/') {
		r->status = 200;
		r->body = root_body;
		r->body_len = sizeof(root_body) - 1;
	} else if (n > 7 && memcmp(path, "/bytes/", 7) == 0 &&
		   parse_u32(path + 7, n - 7, BODY_MAX, &len) == 0) {
		r->status = 200;
		r->body = NULL;
		r->body_len = len;
	} else {
		r->status = 404;
		r->body = notfound_body;
		r->body_len = sizeof(notfound_body) - 1;
	}
}

/* Parses buf[0..hdr_len) (ends with CRLFCRLF). Returns 0, or -1 for 400. */
static int
parse_request(const char *buf, uint32_t hdr_len, struct http_req *r)
{
	const char *end = buf + hdr_len - 2; /* the final empty line */
	const char *line = buf, *eol, *sp1, *sp2;
	int http11;

	eol = memchr(line, '\r', (size_t)(end - line));
	if (eol == NULL || eol[1] != '\n')
		return -1;
	sp1 = memchr(line, ' ', (size_t)(eol - line));
	if (sp1 == NULL || sp1 == line)
		return -1;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/' ||
	    eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return -1;
	for (const char *c = line; c < eol; c++)
		if (*c < 0x21 && *c != ' ')
			return -1;
	http11 = sp2[8] == '1';
	r->keep_alive = http11;
	r->http10 = !http11;
	r->head = (sp1 - line == 4 && memcmp(line, "HEAD", 4) == 0);
	r->get_or_head = r->head || (sp1 - line == 3 && memcmp(line, "GET", 3) == 0);
	if (!r->get_or_head) {
		r->status = 405;
		r->body = "method not allowed\n";
		r->body_len = 19;
	} else {
		route(r, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	}

	for (line = eol + 2; line < end; line = eol + 2) {
		const char *colon, *v;
		size_t vn;

		eol = memchr(line, '\r', (size_t)(end - line) + 1);
		if (eol == NULL || eol[1] != '\n')
			return -1;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL || colon == line)
			return -1;
		for (const char *c = line; c < colon; c++)
			if (*c <= ' ' || *c >= 0x7f)
				return -1;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		vn = (size_t)(eol - v);
		while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		if (colon - line == 10 && strncasecmp(line, "connection", 10) == 0) {
			if (value_has(v, vn, "close"))
				r->keep_alive = 0;
			else if (value_has(v, vn, "keep-alive"))
				r->keep_alive = 1;
		} else if (colon - line == 14 &&
			   strncasecmp(line, "content-length", 14) == 0) {
			uint32_t cl;

			/* Two lengths that differ: a smuggling attempt. */
			if (parse_u32(v, vn, UINT32_MAX, &cl) != 0 ||
			    (r->has_len && cl != r->content_len))
				return -1;
			r->content_len = cl;
			r->has_len = 1;
		} else if (colon - line == 17 &&
			   strncasecmp(line, "transfer-encoding", 17) == 0) {
			r->chunked = 1; /* a body of unknown length */
		} else if (colon - line == 6 && strncasecmp(line, "expect", 6) == 0) {
			r->expect = value_has(v, vn, "100-continue");
		}
	}
	return 0;
}

/* What the answer is to a request with a body (no route takes one), and
 * whether the connection stays. Returns the body bytes to drop before the
 * next request (0: none, or the connection closes). */
static uint32_t
judge_body(struct http_req *r, uint8_t *linger)
{
	static const struct { int status; const char *body; } refuse[] = {
		{ 400, "a GET or HEAD takes no body\n" },
		{ 411, "length required\n" },
		{ 413, "request body too large\n" },
	};
	int k;

	if (!r->chunked && r->content_len == 0)
		return 0;
	if (r->chunked)
		k = 1;
	else if (r->content_len > BODY_SKIP_MAX)
		k = 2;
	else if (r->get_or_head)
		k = 0;
	else /* a 405 already */
		k = -1;
	/* A small body to a 405 is dropped as it comes, unless the client
	 * waits for a 100-continue before sending it. */
	if (k < 0 && !r->expect)
		return r->content_len;
	*linger = 1; /* the body is never read: close behind the answer */
	r->keep_alive = 0;
	if (k >= 0) {
		r->status = refuse[k].status;
		r->body = refuse[k].body;
		r->body_len = (uint32_t)strlen(refuse[k].body);
		r->head = 0;
	}
	return 0;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	default: return "Bad Request";
	}
}

/* Per-connection state in the API's scratch area. */
struct http_conn {
	uint32_t body_left;   /* response body bytes still to queue */
	uint32_t skip_left;   /* request body bytes still to drop */
	uint8_t close_after;  /* close once everything is queued */
	uint8_t linger;       /* ... with a lingering close (an error answer) */
};
_Static_assert(sizeof(struct http_conn) <= MPS_CONN_CTX, "http state too big");

/* Streams what fits of the current response body. 0, or -1 if the
 * connection is gone. */
static int
write_body(mps_conn_t h, struct http_conn *hc)
{
	int ret;

	while (hc->body_left > 0) {
		uint32_t n = mps_send_room(h);

		if (n > sizeof(fill))
			n = sizeof(fill);
		if (n > hc->body_left)
			n = hc->body_left;
		if (n == 0)
			return 0;
		ret = mps_send(h, fill, n);
		if (ret == -EAGAIN) /* memory short: again when writable */
			return 0;
		if (ret != 0)
			return -1;
		hc->body_left -= n;
	}
	return 0;
}

/* Queues status line, headers and (small) body in one write, or nothing:
 * 0 sent, 1 no room yet, -1 connection gone. */
static int
respond(mps_conn_t h, struct http_conn *hc, const struct http_req *r)
{
	char out[512];
	int n, ret;
	int inline_body = r->body != NULL && !r->head;

	/* HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it
	 * unless told, so a kept HTTP/1.0 one must say so. */
	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d %s\r\nServer: mpstack\r\n"
		     "Content-Type: text/plain\r\nContent-Length: %u\r\n%s%s\r\n%s",
		     r->status, reason(r->status), r->body_len,
		     r->status == 405 ? "Allow: GET, HEAD\r\n" : "",
		     !r->keep_alive ? "Connection: close\r\n" :
		     r->http10 ? "Connection: keep-alive\r\n" : "",
		     inline_body ? r->body : "");
	if (n < 0 || (size_t)n >= sizeof(out) || mps_send_room(h) < (uint32_t)n)
		return 1;
	ret = mps_send(h, out, (uint32_t)n);
	if (ret == -EAGAIN) /* memory short: again when writable */
		return 1;
	if (ret != 0)
		return -1;
	hc->body_left = (r->body == NULL && !r->head) ? r->body_len : 0;
	return 0;
}

static const char *
find_hdr_end(const char *buf, uint32_t n)
{
	for (uint32_t i = 3; i < n; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r')
			return buf + i + 1;
	return NULL;
}

/* Answers every complete request in order while there is room; closes
 * when asked to and everything is queued; then says what it waits for. */
static void
http_flush(mps_conn_t h, void *arg)
{
	struct http_conn *hc = mps_conn_ctx(h);
	char buf[HDR_MAX];
	int blocked = 0, ret;

	(void)arg;
	if (hc == NULL)
		return;
	if (fill[0] == 0)
		memset(fill, 'x', sizeof(fill));
	for (;;) {
		struct http_req r;
		const char *end;
		uint32_t n, skip, len = mps_recv_len(h);

		if (hc->body_left > 0) {
			if (write_body(h, hc) != 0)
				return;
			if (hc->body_left > 0) {
				blocked = 1;
				break;
			}
		}
		if (hc->close_after)
			break;
		if (hc->skip_left > 0) { /* a request body we drop */
			n = len < hc->skip_left ? len : hc->skip_left;
			mps_recv_consume(h, n);
			hc->skip_left -= n;
			len -= n;
			if (hc->skip_left > 0)
				break;
		}
		if (len == 0)
			break;
		n = mps_recv_peek(h, buf, len < HDR_MAX ? len : HDR_MAX);
		end = find_hdr_end(buf, n);
		memset(&r, 0, sizeof(r));
		if (end == NULL && n < HDR_MAX)
			break; /* need more bytes */
		skip = 0;
		if (end == NULL ||
		    parse_request(buf, (uint32_t)(end - buf), &r) != 0) {
			r = (struct http_req){ .status = 400, .keep_alive = 0,
				.body = "bad request\n", .body_len = 12 };
			hc->linger = 1;
		} else {
			r.hdr_len = (uint32_t)(end - buf);
			skip = judge_body(&r, &hc->linger);
		}
		if (mps_api_draining() && r.keep_alive) {
			r.keep_alive = 0; /* as nginx on a graceful shutdown */
			if (skip != 0) { /* the body is not waited for */
				skip = 0;
				hc->linger = 1;
			}
		}
		ret = respond(h, hc, &r);
		if (ret < 0)
			return;
		if (ret > 0) {
			blocked = 1; /* no room: retried when writable */
			break;
		}
		/* Answered: the request's header goes; its body is dropped as
		 * it comes, or by the lingering close. */
		mps_recv_consume(h, r.hdr_len);
		hc->skip_left = skip;
		mps_api_count(MPS_COUNT_HTTP_REQUEST);
		if (r.status != 200)
			mps_api_count(MPS_COUNT_HTTP_ERROR);
		if (!r.keep_alive)
			hc->close_after = 1;
		mps_set_wait(h, MPS_WAIT_NONE); /* the next request's deadline is its own */
	}
	if (!blocked && hc->body_left == 0 &&
	    (hc->close_after || mps_peer_closed(h) == 1)) {
		if (hc->linger)
			mps_close_lingering(h);
		else
			mps_close(h);
		return;
	}
	/* While answering, the send timeout runs; between requests the
	 * keep-alive timeout; from a request's first byte the header one. */
	mps_set_wait(h, blocked || hc->body_left > 0 ? MPS_WAIT_NONE :
		     mps_recv_len(h) > 0 || hc->skip_left > 0 ? MPS_WAIT_REQUEST :
		     MPS_WAIT_IDLE);
}

/* The header timeout runs from the accept until the first request is whole. */
static int
http_open(mps_conn_t h, const struct mps_conn_info *ci, void *arg)
{
	(void)ci;
	(void)arg;
	mps_set_wait(h, MPS_WAIT_REQUEST);
	return 0;
}

const struct mps_api_ops mps_http_ops = {
	.on_open = http_open,
	.on_recv = http_flush,
	.on_writable = http_flush,
	.on_peer_closed = http_flush,
};
