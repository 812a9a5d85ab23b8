/* The --help text of every ringbus-load subcommand and of
 * ringbus-load-blocking (the options themselves are in flags.c). */
#include <stdio.h>

#include "tools/load/flags.h"

static const char common_help[] =
    "  --url URL              nats://[user:pass@|token@]host[:port] (default\n"
    "                         nats://127.0.0.1:4222)\n"
    "  --size B               payload bytes, >= 16 (default 128; 24+ also carries\n"
    "                         the actual send time for the uncorrected latency)\n"
    "  --subjects K           spread the traffic over K subjects (default 1)\n"
    "  --subject-prefix P     subjects are P.0 .. P.K-1 (default load)\n"
    "  --json FILE            write every figure as JSON (- for stdout)\n"
    "  --hgrm FILE            write the latency distribution, HdrHistogram .hgrm (us)\n"
    "  --connect-timeout D    give up connecting after D (default 5s)\n"
    "  --quiet                no per-second progress (also off when stderr is\n"
    "                         not a terminal)\n"
    "  --help                 this text\n"
    "Durations: 500ms, 2s, 1m; counts: 100k, 1.5M; sizes: 1k = 1024.\n";

static const char threads_help[] =
    "  --threads N            io_uring event loops, one per thread (default 1)\n";

static const char exit_help[] =
    "Exit status: 0 done, 1 error (no server, authorization refused, connection\n"
    "closed), 2 bad usage, 3 the target --rate was not reached, 4 messages lost\n"
    "or duplicated (or nothing moved for --drain).\n";

static const char blocking_exit_help[] =
    "Exit status: 0 done, 1 error (no server, authorization refused, a\n"
    "publisher's connection closed), 2 bad usage, 3 the target --rate was not\n"
    "reached, 4 a message lost, duplicated or out of order (a subscriber closed\n"
    "by the server loses the rest), or nothing moved for --drain.\n";

static const char sub_subject_help[] =
    "  --sub-subject PATTERN  every subscriber subscribes to PATTERN (e.g. 'load.>')\n"
    "                         instead of its share of the K subjects\n";

static const char sub_url_help[] =
    "  --sub-url URL[,URL...] subscribers connect here instead of --url (publishers\n"
    "                         stay on --url): subscriber s to the (s mod n)-th URL,\n"
    "                         e.g. other nodes of a cluster. Before the run each\n"
    "                         publisher sends a short probe on each of its subjects\n"
    "                         every 10 ms until every subscriber has had one on\n"
    "                         each of its subjects (interest has crossed the\n"
    "                         routes; within --connect-timeout). Not with --queue\n";

static const char per_pub_help[] =
    "  --pub-subject-per-pub  publisher p publishes only on P.p (K = P)\n";

static const char stream_help[] =
    "  --stream-per-pub       number each publisher's messages in one sequence\n"
    "                         across its subjects, so order is checked per\n"
    "                         publisher (the NATS promise) rather than per\n"
    "                         publisher and subject\n";

void load_usage(FILE *out)
{
	fputs("usage: ringbus-load <command> [options]\n"
	      "Load generator for ringbus and any NATS-protocol server, with honest latency.\n"
	      "commands:\n"
	      "  pubsub   publishers and subscribers in one process (fan-out, queue groups)\n"
	      "  reqrep   request/reply round trips\n"
	      "  pub      publishers only (pair with sub in another process)\n"
	      "  sub      subscribers only\n"
	      "ringbus-load <command> --help lists each command's options.\n",
	      out);
}

void load_flags_usage_own(enum load_mode mode, FILE *out)
{
	switch (mode) {
	case LOAD_PUBSUB:
		fputs("usage: ringbus-load pubsub [--pubs P] [--subs S] (--msgs N | --duration D)\n"
		      "         [--size B] [--subjects K] [--queue GROUP] [--rate R] [--warmup D]\n"
		      "         [--json FILE] [--hgrm FILE] [options]\n"
		      "Publishers and subscribers in one process; end-to-end latency from the\n"
		      "timestamp each message carries. Publisher p sends to its share of the K\n"
		      "subjects; with K <= S subscriber s takes subject s mod K, with K > S the\n"
		      "subjects k with k mod S = s (fan-out S/K per message).\n"
		      "  --pubs P               publishing connections (default 1)\n"
		      "  --subs S               subscribing connections (default 1)\n"
		      "  --msgs N               messages to publish in all (default 100k when no\n"
		      "                         --duration)\n"
		      "  --duration D           publish for D (with --msgs: whichever ends first)\n"
		      "  --queue GROUP          subscribers join queue group GROUP\n"
		      "  --rate R               open loop: R msgs/s in all, latency measured from\n"
		      "                         each message's intended send time; without it,\n"
		      "                         closed loop (as fast as the window allows)\n"
		      "  --window W             closed loop: a PING every W messages, at most two\n"
		      "                         unanswered per publisher (default 1000)\n"
		      "  --send-window D        open loop: messages falling due within D of each\n"
		      "                         other leave in one write (default 100us; 0: each\n"
		      "                         at its own time, a timer each); the wait counts\n"
		      "                         in the send delay and the corrected latency\n"
		      "  --warmup D             leave the first D out of latency and rates\n"
		      "  --drain D              wait up to D for late messages at the end (5s)\n",
		      out);
		fputs(sub_subject_help, out);
		fputs("                         (implies --stream-per-pub)\n", out);
		fputs(stream_help, out);
		fputs(per_pub_help, out);
		fputs(sub_url_help, out);
		break;
	case LOAD_REQREP:
		fputs("usage: ringbus-load reqrep [--clients C] [--responders R] (--rate R |\n"
		      "         --inflight N) (--msgs N | --duration D) [--size B] [--json FILE]\n"
		      "         [--hgrm FILE] [options]\n"
		      "Requesters publish to P.req with a reply subject; responders (a queue\n"
		      "group) echo each request back. Latency: request intended send time to\n"
		      "reply received.\n"
		      "  --clients C            requesting connections (default 1)\n"
		      "  --responders R         responding connections (default 1; 0 when another\n"
		      "                         program answers on P.req)\n"
		      "  --msgs N               requests in all (default 100k when no --duration)\n"
		      "  --duration D           send requests for D\n"
		      "  --rate R               open loop: R requests/s in all\n"
		      "  --inflight N           closed loop: outstanding requests per client (1)\n"
		      "  --send-window D        open loop: requests falling due within D of each\n"
		      "                         other leave in one write (default 100us; 0: each\n"
		      "                         at its own time, a timer each); the wait counts\n"
		      "                         in the send delay and the corrected latency\n"
		      "  --warmup D             leave the first D out of latency and rates\n"
		      "  --drain D              wait up to D for late replies at the end (5s)\n",
		      out);
		break;
	case LOAD_PUB:
		fputs("usage: ringbus-load pub [--pubs P] (--msgs N | --duration D) [--rate R]\n"
		      "         [--size B] [--subjects K] [--id-base N] [options]\n"
		      "Publishers only, for runs spread over several processes (pair with\n"
		      "ringbus-load sub on the same machine: the payload timestamps are\n"
		      "CLOCK_MONOTONIC).\n"
		      "  --pubs P               publishing connections (default 1)\n"
		      "  --msgs N / --duration D  as for pubsub (default --msgs 100k)\n"
		      "  --rate R               open loop at R msgs/s in all\n"
		      "  --window W             closed loop PING window (default 1000)\n"
		      "  --send-window D        open loop: messages falling due within D of each\n"
		      "                         other leave in one write (default 100us; 0: each\n"
		      "                         at its own time, a timer each); the wait counts\n"
		      "                         in the send delay and the corrected latency\n"
		      "  --warmup D             leave the first D out of the rates\n"
		      "  --id-base N            first publisher stream id (give each concurrent\n"
		      "                         pub process its own range; default from the pid)\n",
		      out);
		fputs(stream_help, out);
		fputs("                         (for ringbus-load sub --sub-subject)\n", out);
		fputs(per_pub_help, out);
		break;
	case LOAD_SUB:
		fputs("usage: ringbus-load sub [--subs S] [--subjects K] [--queue GROUP]\n"
		      "         [--msgs N] [--duration D] [--idle D] [options]\n"
		      "Subscribers only: counts, loss (sequence gaps), duplicates, reordering and\n"
		      "latency of what ringbus-load pub sends.\n"
		      "  --subs S               subscribing connections (default 1)\n"
		      "  --msgs N               messages each subscriber expects: stop when all "
		      "have\n"
		      "                         them, report the missing ones as lost\n"
		      "  --duration D           stop after D\n"
		      "  --idle D               stop when nothing arrived for D (default 5s)\n"
		      "  --queue GROUP          join queue group GROUP\n"
		      "  --warmup D             leave the first D out of latency and rates\n",
		      out);
		fputs(sub_subject_help, out);
		break;
	case LOAD_BLOCKING:
		fputs(
		    "usage: ringbus-load-blocking [--pubs P] [--subs S] (--msgs N | --duration D)\n"
		    "         [--size B] [--subjects K | --pub-subject-per-pub]\n"
		    "         [--sub-subject PATTERN] [--window N] [--rate R] [--json FILE]\n"
		    "         [options]\n"
		    "A plain NATS client: blocking sockets, one thread per connection, 64 KiB\n"
		    "buffered writes, as most client libraries work. The same payload, checks\n"
		    "and reports as ringbus-load pubsub (the JSON has the same fields).\n"
		    "Publisher p sends message i to subject P.(i mod K), or with\n"
		    "--pub-subject-per-pub only to P.p, and numbers its messages in one\n"
		    "sequence across its subjects: order is checked per publisher, as NATS\n"
		    "promises. Subscribers take --sub-subject PATTERN; without it P.0 when\n"
		    "K = 1, and with K > 1 ringbus-load's rule (K <= S: subscriber s takes\n"
		    "subject s mod K; K > S: the subjects s, s+S, ...).\n"
		    "WebSocket: --url ws://host[:port] (and ws:// in --sub-url) upgrades each\n"
		    "connection (GET /, RFC 6455) and sends masked binary frames, one per\n"
		    "buffered write; no TLS, no compression.\n"
		    "  --pubs P               publishing connections (default 1)\n"
		    "  --subs S               subscribing connections (default 1)\n"
		    "  --msgs N               messages to publish in all (default 100k when no\n"
		    "                         --duration)\n"
		    "  --duration D           publish for D (with --msgs: whichever ends first)\n"
		    "  --window N             a PING every N messages, at most two unanswered\n"
		    "                         per publisher (default 1000); 0: no window, write\n"
		    "                         as fast as the socket takes it and PING once at\n"
		    "                         the end\n"
		    "  --rate R               open loop: R msgs/s in all, each publisher sleeping\n"
		    "                         until its next message is due\n"
		    "  --queue GROUP          subscribers join queue group GROUP (loss is then\n"
		    "                         counted over the group)\n"
		    "  --warmup D             leave the first D out of latency and rates\n"
		    "  --drain D              wait up to D for late messages at the end, and\n"
		    "                         give up on a server that takes nothing for D (5s)\n",
		    out);
		fputs(sub_subject_help, out);
		fputs(per_pub_help, out);
		fputs(sub_url_help, out);
		break;
	}
}

void load_flags_usage_common(bool threads, FILE *out)
{
	if (threads)
		fputs(threads_help, out);
	fputs(common_help, out);
}

void load_flags_usage_exit(enum load_mode mode, FILE *out)
{
	fputs(mode == LOAD_BLOCKING ? blocking_exit_help : exit_help, out);
}

void load_flags_usage(enum load_mode mode, FILE *out)
{
	load_flags_usage_own(mode, out);
	load_flags_usage_common(mode != LOAD_BLOCKING, out);
	load_flags_usage_exit(mode, out);
}
