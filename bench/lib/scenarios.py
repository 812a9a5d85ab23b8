"""The scenarios of bench/suite: what ringbus-load runs for each, how long,
and which figure is the headline. `scenarios(quick)` returns the list;
`with_profiles(scenarios, profiles)` adds, for each client profile beyond
the default, a copy of every throughput point run by that client."""
from dataclasses import dataclass, field, replace

# Client profiles: which load generator drives a point. 'load' is
# ringbus-load (io_uring, reads in large batches; the default); 'blocking' is
# ringbus-load-blocking, a plain client with one thread per connection on
# blocking sockets, as most users' client libraries are. A point run with a
# profile other than 'load' has the id '<id>@<profile>'.
PROFILES = {"load": "ringbus-load", "blocking": "ringbus-load-blocking"}
DEFAULT_PROFILES = ["load"]


@dataclass
class Point:
    """One measured configuration: a ringbus-load command line (without URL
    and output options) plus what runs beside it."""
    id: str
    label: str
    args: list
    duration: float
    warmup: float
    idle: int = 0          # idle connections held open while measuring
    stalled: bool = False  # a subscriber of load.0 that never reads
    rate: int = 0          # offered rate (open loop), for curves
    ordered: bool = True   # replies come back in order (one responder)
    short: str = ""        # label on crowded charts
    drain: float = 3.0     # ringbus-load --drain: how long nothing may move
    profile: str = "load"  # the client profile that runs it (PROFILES)
    blocking: list = None  # ringbus-load-blocking's arguments for the same work
    base: str = ""         # the id without '@profile'


@dataclass
class Scenario:
    id: str
    title: str
    kind: str  # throughput | latency | curve | slow
    what: str
    points: list = field(default_factory=list)


# Open-loop runs measure latency: requests leave at most this late (ringbus-load
# batches sends falling due within it; its default, 100us, favours its own CPU).
BENCH_SEND_WINDOW = "50us"


def _pubsub(pubs, subs, size, subjects=1, queue=None, rate=0, per_pub=False, sub_subject=None):
    a = ["pubsub", "--pubs", str(pubs), "--subs", str(subs), "--size", str(size)]
    a += ["--pub-subject-per-pub"] if per_pub else ["--subjects", str(subjects)]
    if sub_subject:
        a += ["--sub-subject", sub_subject]
    if queue:
        a += ["--queue", queue]
    if rate:
        a += ["--rate", str(rate), "--send-window", BENCH_SEND_WINDOW]
    return a


def _blocking(pubs, subs, size, subjects=1, queue=None, per_pub=False, sub_subject=None,
              window=None):
    """ringbus-load-blocking's arguments. Its publishers cycle over all K
    subjects (per_pub: publisher p only on load.p); its subscribers share
    them as ringbus-load's do, or all take sub_subject."""
    a = ["--pubs", str(pubs), "--subs", str(subs), "--size", str(size)]
    a += ["--pub-subject-per-pub"] if per_pub else ["--subjects", str(subjects)]
    if queue:
        a += ["--queue", queue]
    if sub_subject:
        a += ["--sub-subject", sub_subject]
    if window is not None:
        a += ["--window", str(window)]
    return a


def _reqrep(clients, responders, size=128, inflight=0, rate=0):
    a = ["reqrep", "--clients", str(clients), "--responders", str(responders),
         "--size", str(size)]
    a += (["--rate", str(rate), "--send-window", BENCH_SEND_WINDOW] if rate
          else ["--inflight", str(inflight)])
    return a


# Offered request rates of the open-loop curve (requests/s over all clients).
CURVE_RATES_FULL = [10000, 50000, 100000, 200000, 300000, 400000, 500000, 650000]
CURVE_RATES_QUICK = [50000, 200000, 400000]
# The curve point whose latency is held against the request/reply target.
CURVE_TARGET_RATE = 50000
IDLE_CONNECTIONS = 1000
SLOW_S = 12.0      # stalled runs: past nats-server's 10 s write deadline
SLOW_RATE = 100000
SLOW_DRAIN_S = 15.0  # a publisher blocked for the whole write deadline is not 'stalled'


def scenarios(quick):
    d, w = (1.0, 0.3) if quick else (3.0, 0.5)
    cd, cw = (1.0, 0.3) if quick else (2.0, 0.5)

    def tp(pid, label, args, **kw):
        return Point(pid, label, args, d, w, **kw)

    thr = Scenario("throughput", "Throughput, closed loop", "throughput",
                   "Publishers send as fast as the server takes it (PING every 1000 "
                   "messages, at most two unanswered); figure: messages delivered per "
                   "second over all subscribers, with the server's CPU time per delivered "
                   "message beside it. Points with '@blocking' are the same work done by "
                   "ringbus-load-blocking (one thread per connection, blocking sockets, "
                   "64 KiB buffered writes; the same PING window, except on the order and "
                   "full fan-out points: no window, written as fast as the socket takes "
                   "it). Two shapes differ between the clients: over 10,000 subjects each "
                   "blocking publisher cycles over all of them (ringbus-load's publisher p "
                   "takes p, p+4, ...); the subscribers share them alike. Order is checked "
                   "per publisher across subjects where subscribers take a wildcard (both "
                   "clients) and in every blocking run.")
    thr.points = [
        tp("tp_1to1_16", "1->1, 16 B", _pubsub(1, 1, 16), blocking=_blocking(1, 1, 16)),
        tp("tp_1to1_128", "1->1, 128 B", _pubsub(1, 1, 128), blocking=_blocking(1, 1, 128)),
        tp("tp_1to1_1k", "1->1, 1 KiB", _pubsub(1, 1, 1024), blocking=_blocking(1, 1, 1024)),
        tp("tp_1to1_16k", "1->1, 16 KiB", _pubsub(1, 1, 16384),
           blocking=_blocking(1, 1, 16384)),
        tp("tp_1to1_64k", "1->1, 64 KiB", _pubsub(1, 1, 65536),
           blocking=_blocking(1, 1, 65536)),
        tp("tp_1to4_16", "1->4 fan-out, 16 B", _pubsub(1, 4, 16), blocking=_blocking(1, 4, 16)),
        tp("tp_1to16_16", "1->16 fan-out, 16 B", _pubsub(1, 16, 16),
           blocking=_blocking(1, 16, 16)),
        tp("tp_4to4_128", "4->4 on 4 distinct subjects, 128 B", _pubsub(4, 4, 128, 4),
           short="4->4, 4 subjects, 128 B", blocking=_blocking(4, 4, 128, per_pub=True)),
        tp("tp_subjects_10k", "4->4 over 10,000 subjects, 128 B", _pubsub(4, 4, 128, 10000),
           short="4->4, 10k subjects", blocking=_blocking(4, 4, 128, 10000)),
        tp("tp_queue4", "1->queue group of 4, 128 B", _pubsub(1, 4, 128, queue="q"),
           blocking=_blocking(1, 4, 128, queue="q")),
        tp("tp_idle_1to1_128", "1->1, 128 B, 1,000 idle connections", _pubsub(1, 1, 128),
           idle=IDLE_CONNECTIONS, short="1->1 128 B, 1k idle", blocking=_blocking(1, 1, 128)),
        tp("tp_order_16subj", "order: 1 publisher cycling over 16 subjects -> 2 subscribers "
           "on load.>, 32 B", _pubsub(1, 2, 32, 16, sub_subject="load.>"),
           short="order, 16 subjects, 32 B",
           blocking=_blocking(1, 2, 32, 16, sub_subject="load.>", window=0)),
        tp("tp_4to4_fanout_128", "4->4 full fan-out: publishers on load.0..3, every "
           "subscriber on load.>, 128 B", _pubsub(4, 4, 128, per_pub=True, sub_subject="load.>"),
           short="4->4 full fan-out, 128 B",
           blocking=_blocking(4, 4, 128, per_pub=True, sub_subject="load.>", window=0)),
    ]
    if quick:
        keep = {"tp_1to1_16", "tp_1to4_16", "tp_4to4_128", "tp_1to1_1k"}
        thr.points = [p for p in thr.points if p.id in keep]

    lat = Scenario("latency", "Latency", "latency",
                   "Ping-pong is request/reply with one request in flight (a closed "
                   "loop: round trip); one-way is pub/sub in an open loop at a fixed "
                   "rate, latency from each message's intended send time (corrected "
                   "for coordinated omission).")
    lat.points = [
        tp("lat_pingpong", "ping-pong: request/reply, 1 client, 1 in flight, 128 B",
           _reqrep(1, 1, inflight=1), short="ping-pong"),
        tp("lat_oneway", "one-way: pub/sub 1->1 at 20,000 msg/s, 128 B",
           _pubsub(1, 1, 128, rate=20000), short="one-way 20k/s"),
        tp("lat_pingpong_idle", "ping-pong with 1,000 idle connections",
           _reqrep(1, 1, inflight=1), idle=IDLE_CONNECTIONS,
           short="ping-pong, 1k idle"),
    ]

    curve = Scenario("curve", "Request/reply, open loop: latency vs offered rate", "curve",
                     "2 requesters and 2 responders (one queue group), 128 B; each "
                     "requester sends on a fixed schedule whatever happened before; "
                     "latency from the intended send time to the reply. A rate the "
                     "requesters could not send is marked 'not reached' (saturation).")
    for r in CURVE_RATES_QUICK if quick else CURVE_RATES_FULL:
        curve.points.append(Point("rr_open_%dk" % (r // 1000), "%dk req/s" % (r // 1000),
                                  _reqrep(2, 2, rate=r), cd, cw, rate=r, ordered=False,
                                  short="req/reply %dk/s" % (r // 1000)))

    slow = Scenario("slow", "Slow-consumer isolation", "slow",
                    "1->1, 128 B, measured at the healthy subscriber; in the 'stalled' "
                    "runs a second subscriber of the same subject connects, subscribes "
                    "(receive buffer 4 KiB) and never reads. Stalled runs last %.0f s, "
                    "longer than nats-server's 10 s write deadline; closed loop gives the "
                    "capacity left, open loop at %dk msg/s the latency the healthy "
                    "subscriber sees (from intended send time)." % (SLOW_S, SLOW_RATE // 1000))
    slow.points = [
        tp("sc_alone", "closed loop, healthy subscriber alone", _pubsub(1, 1, 128)),
        Point("sc_stalled", "closed loop, healthy + stalled subscriber", _pubsub(1, 1, 128),
              SLOW_S, w, stalled=True, drain=SLOW_DRAIN_S),
    ]
    if not quick:
        slow.points += [
            tp("sc_alone_rate", "open loop %dk msg/s, healthy subscriber alone" %
               (SLOW_RATE // 1000), _pubsub(1, 1, 128, rate=SLOW_RATE)),
            Point("sc_stalled_rate", "open loop %dk msg/s, healthy + stalled subscriber" %
                  (SLOW_RATE // 1000), _pubsub(1, 1, 128, rate=SLOW_RATE), SLOW_S, w,
                  stalled=True, drain=SLOW_DRAIN_S),
        ]
    return [thr, lat, curve, slow]


def with_profiles(scs, profiles):
    """Every throughput point once per client profile (in @profiles order,
    next to each other); other scenarios only with the default client. A
    point without arguments for a profile is left out of it."""
    for sc in scs:
        for p in sc.points:
            p.base = p.base or p.id
        if sc.kind != "throughput":
            continue
        pts = []
        for p in sc.points:
            for prof in profiles:
                if prof == "load":
                    pts.append(p)
                elif prof == "blocking" and p.blocking:
                    pts.append(replace(p, id="%s@%s" % (p.base, prof), profile=prof,
                                       args=list(p.blocking),
                                       label="%s [%s client]" % (p.label, prof),
                                       short="%s [%s]" % (p.short or p.label, prof)))
        sc.points = pts
    return scs


# Targets from the router issue: (point, metric, goal, comparison, text).
TARGETS = [
    ("tp_1to1_16", "delivered_msgs_s", 2.0, ">=", "1->1 16 B delivered msg/s"),
    ("tp_1to4_16", "delivered_msgs_s", 2.0, ">=", "1->4 16 B delivered msg/s"),
    ("tp_4to4_128", "delivered_msgs_s", 2.0, ">=", "4->4 on 4 subjects 128 B delivered msg/s"),
    ("tp_1to1_1k", "delivered_msgs_s", 2.0, ">=", "1->1 1 KiB delivered msg/s"),
    ("lat_pingpong", "p50_us", 0.7, "<=", "ping-pong latency p50"),
    ("lat_pingpong", "p99_us", 0.7, "<=", "ping-pong latency p99"),
    ("rr_open_%dk" % (CURVE_TARGET_RATE // 1000), "p50_us", 0.7, "<=",
     "request/reply at %dk req/s latency p50" % (CURVE_TARGET_RATE // 1000)),
    ("rr_open_%dk" % (CURVE_TARGET_RATE // 1000), "p99_us", 0.7, "<=",
     "request/reply at %dk req/s latency p99" % (CURVE_TARGET_RATE // 1000)),
]
