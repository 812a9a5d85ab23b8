/* A client's publishes across accounts (router/account.h): the stream
 * imports of what it publishes, its requests through service imports, and
 * the answers to requests that reached it through one. Above client.c
 * (client_publish_acc) and account.c. */
#include <string.h>

#include "core/copy.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "io/proto/proto.h"
#include "router/account.h"
#include "router/client_int.h"
#include "router/index/subject.h"
#include "router/server.h"

/* An answer to a request that came through a service import: published
 * here as any message (as nats-server does: the exporting account's
 * subscribers to ">" see it), then in the requester's account on the reply
 * subject it gave. */
static bool client_acc_answer(struct client *cl, const struct proto_frame *f)
{
	struct server *s = cl->t->srv;
	char reply[PROTO_MAX_CONTROL_LINE];
	size_t len;
	uint16_t acc;
	if (!acc_reply_take(s->replies, f->subject.ptr, f->subject.len, io_loop_now(cl->c->loop),
	                    &acc, reply, sizeof(reply), &len))
		return false;
	struct proto_frame m = *f;
	m.subject = (struct proto_span){reply, (uint32_t)len};
	if (client_publish_acc(cl, f, client_pub_flags(cl, f), (struct proto_span){NULL, 0},
	                       cl->acc, CLIENT_PUB_REMEMBER) &&
	    client_publish_acc(cl, &m, 0, (struct proto_span){NULL, 0}, acc, 0))
		client_published(cl, f);
	return true;
}

/* Publishes @f again as rule @r says, in its target account: a service's
 * request wherever its responder is; a stream's copy for this server's
 * clients only (every server copies what it gets: routes carry the
 * original, router/route_mgr.c announces the interest for it). */
static void client_acc_apply(struct client *cl, const struct proto_frame *f,
                             const struct acc_rule *r)
{
	struct server *s = cl->t->srv;
	char subj[PROTO_MAX_CONTROL_LINE], reply[ACC_REPLY_LEN];
	size_t n = acc_rule_map(r, f->subject.ptr, f->subject.len, subj, sizeof(subj));
	if (n == 0 || !subject_valid_pub(subj, n)) {
		log_warn("cid %llu: %.*s does not map to a subject of account %s: not imported",
		         (unsigned long long)cl->cid, (int)f->subject.len, f->subject.ptr,
		         server_acc(s)->acc[r->target].name);
		return;
	}
	struct proto_frame m = *f;
	m.subject = (struct proto_span){subj, (uint32_t)n};
	if (r->service && f->reply.len) {
		/* the responder answers to a subject of ours, which leads back */
		if (!acc_reply_add(s->replies, cl->acc, f->reply.ptr, f->reply.len,
		                   io_loop_now(cl->c->loop), reply)) {
			log_error("cid %llu: out of memory for a service import's reply",
			          (unsigned long long)cl->cid);
			return;
		}
		m.reply = (struct proto_span){reply, ACC_REPLY_LEN};
	}
	(void)client_publish_acc(cl, &m, r->service ? 0 : MENTRY_F_LOCAL,
	                         (struct proto_span){NULL, 0}, r->target, 0);
}

bool client_acc_publish(struct client *cl, const struct proto_frame *f)
{
	const struct account *a = &server_acc(cl->t->srv)->acc[cl->acc];
	/* a publisher that repeats a subject no import takes pays one compare */
	bool hit = f->subject.len == cl->last_subj_len &&
	           equal_small(f->subject.ptr, cl->last_subj, f->subject.len);
	if (hit && cl->last_no_rules)
		return false;
	cl->pend_no_rules = false; /* until the rules are looked at below */
	if (f->subject.len == ACC_REPLY_LEN && f->subject.ptr[0] == '_' && client_acc_answer(cl, f))
		return true;
	bool any = false, service = false;
	for (int i = 0; i < a->nrules; i++) {
		const struct acc_rule *r = &a->rules[i];
		if (subject_matches(r->match, r->match_len, f->subject.ptr, f->subject.len)) {
			any = true;
			service |= r->service;
		}
	}
	if (!any) {
		cl->pend_no_rules = true; /* stored with the subject by its publish */
		return false;
	}
	/* Here first, then in each account concerned: entries keep their order.
	 * A request that a service import takes gets no 503, responder or not
	 * (nats-server counts the import's own subscription as its receiver;
	 * client_acc_apply's copy carries no MENTRY_F_NO_RESPONDERS either). */
	uint8_t flags = client_pub_flags(cl, f);
	if (service)
		flags &= (uint8_t)~MENTRY_F_NO_RESPONDERS;
	if (!client_publish_acc(cl, f, flags, (struct proto_span){NULL, 0}, cl->acc,
	                        CLIENT_PUB_REMEMBER))
		return true;
	for (int i = 0; i < a->nrules; i++) {
		const struct acc_rule *r = &a->rules[i];
		if (subject_matches(r->match, r->match_len, f->subject.ptr, f->subject.len))
			client_acc_apply(cl, f, r);
	}
	client_published(cl, f);
	return true;
}

void client_acc_routed(struct client *cl, const struct proto_frame *f, uint8_t flags, uint16_t acc)
{
	struct server *s = cl->t->srv;
	char reply[PROTO_MAX_CONTROL_LINE];
	size_t len;
	uint16_t to;
	if (f->subject.len == ACC_REPLY_LEN && f->subject.ptr[0] == '_' &&
	    acc_reply_take(s->replies, f->subject.ptr, f->subject.len, io_loop_now(cl->c->loop),
	                   &to, reply, sizeof(reply), &len)) {
		/* the answer to a request of one of our clients */
		struct proto_frame m = *f;
		m.subject = (struct proto_span){reply, (uint32_t)len};
		if (client_publish_acc(cl, &m, MENTRY_F_LOCAL, (struct proto_span){NULL, 0}, to, 0))
			client_published(cl, f);
		return;
	}
	if (!client_publish_acc(cl, f, flags | client_pub_flags(cl, f), f->queues, acc,
	                        CLIENT_PUB_REMEMBER))
		return;
	const struct account *a = &server_acc(s)->acc[acc];
	for (int i = 0; i < a->nrules; i++) {
		const struct acc_rule *r = &a->rules[i];
		if (!r->service &&
		    subject_matches(r->match, r->match_len, f->subject.ptr, f->subject.len))
			client_acc_apply(cl, f, r);
	}
	client_published(cl, f);
}
