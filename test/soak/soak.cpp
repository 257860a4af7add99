// curlasio_soak: a bounded soak test. Keeps C transfers in flight against an
// in-process HTTP/1.1 server until N transfers are done or S seconds passed,
// mixing normal responses with delays, resets, stalls cut by timeouts,
// refused connections and cancellations (per operation and engine-wide).
// It fails when any handler ran other than once, an outcome is not of the
// expected class, or descriptors or RSS grew after warm-up.
//
//   curlasio_soak [--transfers N] [--seconds S] [--concurrency C] [--seed X]
//                 [--report-every S] [--warmup-seconds S] [--stall-timeout-ms T]
//                 [--cancel-all-every K] [--fd-slack F] [--rss-slack-mib M]
//                 [--inject-leak-bytes B] [--inject-fd-leak-every K]
// The two --inject options leak on purpose (B bytes per transfer, one
// descriptor per K transfers), to check that the checks catch it.

#include <curlasio/curlasio.hpp>

#include <toolkit/fds.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define CURLASIO_SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CURLASIO_SOAK_ASAN 1
#endif
#endif

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_body = 64 * 1024;

// The bytes every body is made of, so the client can check content, not
// only length.
const std::string& body_pattern() {
    static const std::string s = [] {
        static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        std::string b(max_body, '\0');
        for (std::size_t i = 0; i < b.size(); ++i)
            b[i] = alphabet[(i * 31 + i / 61) % 62];
        return b;
    }();
    return s;
}

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::size_t rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

// Thousands of loopback connections need both ends' descriptors in this one
// process: lift the soft open-file limit to the hard one.
void raise_fd_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
}

// ---- the server -------------------------------------------------------------------
//
// A minimal HTTP/1.1 keep-alive server on its own thread and io_context.
// Requests have no body; only the head is read (bounded). The path selects
// the behaviour:
//   /n/<len>          200 with <len> body bytes
//   /x/<len>          same, then "Connection: close" and close
//   /c/<len>          200, chunked body of <len> bytes
//   /d/<ms>/<len>     200 with <len> bytes after <ms> milliseconds
//   /reset            head announcing 64 KiB, 1000 bytes, then an RST
//   /stall            head announcing 64 KiB, 16 bytes, then silence
//   /close            close without any response

class server {
public:
    server() : acceptor_(io_) {
        tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
        acceptor_.open(ep.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(ep);
        acceptor_.listen(asio::socket_base::max_listen_connections);
        port_ = acceptor_.local_endpoint().port();
        asio::co_spawn(io_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }

    ~server() { stop(); }

    void stop() {
        if (!thread_.joinable())
            return;
        asio::post(io_, [this] {
            error_code ignored;
            acceptor_.close(ignored);
            io_.stop();
        });
        thread_.join();
    }

    unsigned short port() const noexcept { return port_; }
    /// Connections the server holds open now.
    long sessions() const noexcept { return sessions_.load(std::memory_order_relaxed); }

private:
    struct session_count {
        std::atomic<long>& n;
        explicit session_count(std::atomic<long>& n) : n(n) { ++n; }
        ~session_count() { --n; }
    };

    asio::awaitable<void> accept_loop() {
        asio::steady_timer backoff(io_);
        for (;;) {
            auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
            if (ec == asio::error::operation_aborted || !acceptor_.is_open())
                co_return;
            if (ec) {
                // e.g. EMFILE: wait rather than spin, keep serving the others
                backoff.expires_after(10ms);
                co_await backoff.async_wait(use_tuple);
                continue;
            }
            sock.set_option(tcp::no_delay(true), ec);
            asio::co_spawn(io_, session(std::move(sock)), asio::detached);
        }
    }

    static std::size_t number(std::string_view s) {
        std::size_t v = 0;
        std::from_chars(s.data(), s.data() + s.size(), v);
        return v;
    }

    static std::string head_for(std::size_t content_length, bool close) {
        std::string h = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n";
        h += "Content-Length: " + std::to_string(content_length) + "\r\n";
        if (close)
            h += "Connection: close\r\n";
        h += "\r\n";
        return h;
    }

    asio::awaitable<void> session(tcp::socket sock) {
        session_count counted(sessions_);
        const std::string& body = body_pattern();
        std::string in;
        asio::steady_timer timer(io_);
        for (;;) {
            auto [ec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(in, 16 * 1024),
                                                           "\r\n\r\n", use_tuple);
            if (ec)
                co_return; // peer closed, or a head too large
            // "GET /path HTTP/1.1": the target is between the first two spaces.
            std::string_view head(in.data(), n);
            auto sp1 = head.find(' ');
            auto sp2 = sp1 == head.npos ? head.npos : head.find(' ', sp1 + 1);
            std::string target(sp2 == head.npos ? std::string_view("/")
                                                : head.substr(sp1 + 1, sp2 - sp1 - 1));
            in.erase(0, n);

            std::string_view t(target);
            bool close = false;
            std::string head_out;
            std::size_t len = 0;
            std::string chunked;
            if (t.starts_with("/n/") || t.starts_with("/x/")) {
                close = t[1] == 'x';
                len = std::min(number(t.substr(3)), max_body);
                head_out = head_for(len, close);
            } else if (t.starts_with("/d/")) {
                auto rest = t.substr(3);
                auto slash = rest.find('/');
                timer.expires_after(std::chrono::milliseconds(number(rest.substr(0, slash))));
                co_await timer.async_wait(use_tuple);
                len = slash == rest.npos ? 0 : std::min(number(rest.substr(slash + 1)), max_body);
                head_out = head_for(len, false);
            } else if (t.starts_with("/c/")) {
                std::size_t total = std::min(number(t.substr(3)), max_body);
                head_out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                char hex[32];
                for (std::size_t at = 0; at < total;) {
                    std::size_t part = std::min<std::size_t>(total - at, 1000 + at % 777);
                    chunked.append(hex,
                                   static_cast<std::size_t>(std::snprintf(hex, sizeof hex, "%zx\r\n", part)));
                    chunked.append(body, at, part).append("\r\n");
                    at += part;
                }
                chunked += "0\r\n\r\n";
            } else if (t == "/reset") {
                head_out = head_for(max_body, false);
                std::array<asio::const_buffer, 2> out{asio::buffer(head_out),
                                                      asio::buffer(body.data(), 1000)};
                co_await asio::async_write(sock, out, use_tuple);
                // SO_LINGER {1, 0}: close() sends an RST instead of a FIN.
                sock.set_option(asio::socket_base::linger(true, 0), ec);
                sock.close(ec);
                co_return;
            } else if (t == "/stall") {
                head_out = head_for(max_body, false);
                std::array<asio::const_buffer, 2> out{asio::buffer(head_out), asio::buffer(body.data(), 16)};
                co_await asio::async_write(sock, out, use_tuple);
                // Silence until the client gives up and closes.
                char sink[512];
                for (;;) {
                    auto [rec, got] = co_await sock.async_read_some(asio::buffer(sink), use_tuple);
                    if (rec)
                        co_return;
                }
            } else if (t == "/close") {
                co_return;
            } else {
                head_out = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
            }

            std::array<asio::const_buffer, 2> out{asio::buffer(head_out), chunked.empty()
                                                                              ? asio::buffer(body.data(), len)
                                                                              : asio::buffer(chunked)};
            auto [wec, written] = co_await asio::async_write(sock, out, use_tuple);
            if (wec || close)
                co_return;
        }
    }

    // Sessions' frames die with io_: the counter they touch must outlive it.
    std::atomic<long> sessions_{0};
    asio::io_context io_{1};
    tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::thread thread_;
};

// ---- the client side --------------------------------------------------------------

enum class kind : std::uint8_t {
    normal,       // /n: 200 and the right body
    normal_close, // /x: same, then the server closes
    chunked,      // /c: same, chunked
    delayed,      // /d: same, after a few ms
    reset,        // RST mid-body: an error
    close,        // closed without a response: an error
    stall,        // silence: request.options.timeout fires, errc::timed_out
    cancel_now,   // cancellation emitted right after the call: operation_aborted
    cancel_later, // emitted after 0-20 ms on a delayed response: aborted or 200
    refused,      // nothing listens: CURLE_COULDNT_CONNECT
    count_,
};
constexpr std::size_t kind_count = static_cast<std::size_t>(kind::count_);

constexpr std::array<const char*, kind_count> kind_names{
    "normal", "normal_close", "chunked",    "delayed",      "reset",
    "close",  "stall",        "cancel_now", "cancel_later", "refused"};

// Per mille. normal + normal_close + chunked is 78%, delayed another 6%.
constexpr std::array<unsigned, kind_count> kind_weights{700, 20, 60, 60, 30, 20, 10, 30, 60, 10};
static_assert([] {
    unsigned s = 0;
    for (unsigned w : kind_weights)
        s += w;
    return s == 1000;
}());

const char* name(kind k) { return kind_names[static_cast<std::size_t>(k)]; }

struct options {
    std::uint64_t transfers = 1'000'000;
    double seconds = 600;
    unsigned concurrency = 64;
    std::uint64_t seed = std::random_device{}();
    double report_every = 5;
    double warmup_seconds = 5;
    std::chrono::milliseconds stall_timeout{200};
    std::uint64_t cancel_all_every = 10'000; // 0: never
    long fd_slack = 0;                       // descriptors other than connection ends: none may leak
    std::size_t inject_leak_bytes = 0;
    std::uint64_t inject_fd_leak_every = 0;
    // RSS may grow by at most this much between warm-up and the end (both
    // taken with nothing in flight). 16 MiB over the 900 000 transfers after
    // a 1 000 000 run's warm-up catches a leak of about 19 bytes per
    // transfer, while staying above allocator noise (heap high-water marks
    // and fragmentation from 64 bodies of up to 64 KiB, a few MiB at most).
    // Under AddressSanitizer the quarantine (up to 256 MiB of freed memory)
    // makes RSS climb on its own, so there it is reported only; LeakSanitizer
    // covers leaks instead. A negative value turns the check off.
#ifdef CURLASIO_SOAK_ASAN
    double rss_slack_mib = -1;
#else
    double rss_slack_mib = 16;
#endif
};

// What the process looks like at one moment.
struct snapshot {
    std::size_t fds = 0;
    long sessions = 0;
    std::size_t rss = 0;
    curlasio::test::fd_census census;
    // Descriptors that are not loopback connection ends. Each connection
    // libcurl keeps cached is three fds (its end, the engine's duplicate that
    // waits on it, the server's end), and how many it keeps (up to four per
    // transfer at the busiest moment so far) is its business, not a leak: so
    // those are counted apart, and everything else must stay as it was.
    long other_fds() const { return static_cast<long>(census.other()); }
    // Client connections (the refused_ socket aside), and the engine's
    // duplicates of them.
    long connections() const { return static_cast<long>(census.client_sockets) - 1; }
    long duplicates() const { return static_cast<long>(census.client - census.client_sockets); }
};

// Handler bookkeeping; outlives the io_context, so that handlers destroyed
// with it can still report.
struct handler_ledger {
    std::vector<std::uint8_t> calls; // per transfer id, saturating
    std::uint64_t handler_calls = 0;
    std::uint64_t double_calls = 0;
    std::uint64_t dropped = 0; // destroyed without being called
    std::vector<std::string> failures;

    void note(std::string s) {
        if (failures.size() < 20)
            failures.push_back(std::move(s));
    }
};

// Moved into each completion handler: reports the handler's destruction
// without a call.
class call_guard {
public:
    call_guard(handler_ledger& l, std::uint64_t id) : ledger_(&l), id_(id) {}
    call_guard(call_guard&& o) noexcept : ledger_(std::exchange(o.ledger_, nullptr)), id_(o.id_) {}
    call_guard& operator=(call_guard&&) = delete;
    ~call_guard() {
        if (ledger_) {
            ++ledger_->dropped;
            ledger_->note("handler of transfer " + std::to_string(id_) + " destroyed without being called");
        }
    }
    void called() noexcept { ledger_ = nullptr; }

private:
    handler_ledger* ledger_;
    std::uint64_t id_;
};

struct transfer_info {
    std::uint64_t id;
    kind k;
    std::size_t size;
    std::uint64_t epoch; // engine-wide cancels issued before this transfer
};

// A fresh signal and timer per cancelled transfer: a late timer must never
// reach the next transfer's slot.
struct cancel_state {
    explicit cancel_state(asio::io_context& io) : timer(io) {}
    asio::cancellation_signal signal;
    asio::steady_timer timer;
};

class soak;

struct completion {
    soak* self;
    transfer_info info;
    call_guard guard;
    std::shared_ptr<cancel_state> cancel;

    void operator()(error_code ec, curlasio::response r);
};

class soak {
public:
    soak(const options& opt, asio::io_context& io, handler_ledger& ledger, server& srv)
        : opt_(opt), io_(io), ledger_(ledger), srv_(srv), refused_(io), rng_(opt.seed),
          kinds_(opt.transfers) {
        ledger_.calls.assign(opt.transfers, 0); // touched now, not during the run
        base_url_ = "http://127.0.0.1:" + std::to_string(srv.port());
        // Bound but not listening: connections are refused, and no other
        // process can take the port meanwhile.
        refused_.open(tcp::v4());
        refused_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        refused_url_ = "http://127.0.0.1:" + std::to_string(refused_.local_endpoint().port());
    }

    asio::awaitable<int> run();
    void on_complete(const transfer_info& in, error_code ec, curlasio::response r);

private:
    bool can_launch() const {
        return !paused_ && !stopping_ && issued_ < opt_.transfers && in_flight_ < opt_.concurrency;
    }
    void top_up() {
        while (can_launch())
            launch();
    }
    void launch();
    kind pick_kind();
    std::size_t pick_size();
    bool expected(const transfer_info& in, error_code ec, const curlasio::response& r) const;
    void tally(const transfer_info& in, error_code ec);
    snapshot take() const {
        snapshot s{0, srv_.sessions(), rss_bytes(), curlasio::test::take_fd_census(srv_.port())};
        s.fds = s.census.total;
        return s;
    }
    void report(const char* tag);
    asio::awaitable<void> sleep(std::chrono::milliseconds d);
    asio::awaitable<bool> drain(std::chrono::seconds limit);
    asio::awaitable<snapshot> settle();
    void print_snapshot(const char* what, const snapshot& s);

    const options& opt_;
    asio::io_context& io_;
    handler_ledger& ledger_;
    server& srv_;
    tcp::socket refused_;
    std::string base_url_, refused_url_;
    std::mt19937_64 rng_;
    std::optional<curlasio::engine> engine_;

    std::vector<kind> kinds_; // per transfer id, to name a missing handler
    std::uint64_t issued_ = 0, done_ = 0, unexpected_ = 0, epoch_ = 0;
    unsigned in_flight_ = 0;
    bool paused_ = false, stopping_ = false;
    clock_type::time_point start_ = clock_type::now();
    clock_type::time_point last_report_ = start_;
    std::uint64_t done_at_last_report_ = 0;
    std::array<std::uint64_t, kind_count> per_kind_{};
    std::map<std::string, std::uint64_t> outcomes_; // "kind: outcome" -> count
};

// Head of the deliberately leaked blocks: a global, so the leak is not
// optimised away.
void* leaked_head = nullptr;

void completion::operator()(error_code ec, curlasio::response r) {
    guard.called();
    if (cancel)
        cancel->timer.cancel();
    self->on_complete(info, ec, std::move(r));
}

kind soak::pick_kind() {
    unsigned x = static_cast<unsigned>(rng_() % 1000);
    for (std::size_t i = 0; i < kind_count; ++i) {
        if (x < kind_weights[i])
            return static_cast<kind>(i);
        x -= kind_weights[i];
    }
    return kind::normal;
}

std::size_t soak::pick_size() {
    unsigned x = static_cast<unsigned>(rng_() % 100);
    if (x < 70)
        return 1024;
    if (x < 90)
        return static_cast<std::size_t>(rng_() % 8193);
    return static_cast<std::size_t>(rng_() % (max_body + 1));
}

void soak::launch() {
    const std::uint64_t id = issued_++;
    const kind k = pick_kind();
    kinds_[id] = k;
    ++per_kind_[static_cast<std::size_t>(k)];
    transfer_info in{id, k, 0, epoch_};

    std::string url;
    switch (k) {
    case kind::normal:
    case kind::normal_close:
    case kind::chunked:
        in.size = pick_size();
        url = base_url_ +
              (k == kind::normal    ? "/n/"
               : k == kind::chunked ? "/c/"
                                    : "/x/") +
              std::to_string(in.size);
        break;
    case kind::delayed:
    case kind::cancel_now:
    case kind::cancel_later:
        in.size = pick_size();
        url = base_url_ + "/d/" + std::to_string(1 + rng_() % 20) + "/" + std::to_string(in.size);
        break;
    case kind::reset:
        url = base_url_ + "/reset";
        break;
    case kind::close:
        url = base_url_ + "/close";
        break;
    case kind::stall:
        url = base_url_ + "/stall";
        break;
    case kind::refused:
        url = refused_url_ + "/n/1024";
        break;
    case kind::count_:
        break;
    }

    curlasio::request req(std::move(url));
    // Only stalls are meant to time out; the long deadline on the others
    // turns a hang into a counted failure instead of a stuck run.
    req.options.timeout = k == kind::stall ? opt_.stall_timeout : std::chrono::milliseconds(30'000);
    req.options.connect_timeout = std::chrono::seconds(10);
    req.options.decompress = false;

    ++in_flight_;
    if (k == kind::cancel_now || k == kind::cancel_later) {
        static constexpr std::array<asio::cancellation_type, 3> types{asio::cancellation_type::terminal,
                                                                      asio::cancellation_type::partial,
                                                                      asio::cancellation_type::total};
        const auto type = types[rng_() % types.size()];
        auto cs = std::make_shared<cancel_state>(io_);
        auto& signal = cs->signal;
        curlasio::async_fetch(
            *engine_, std::move(req),
            asio::bind_cancellation_slot(signal.slot(), completion{this, in, call_guard(ledger_, id), cs}));
        if (k == kind::cancel_now) {
            signal.emit(type);
        } else {
            cs->timer.expires_after(std::chrono::milliseconds(rng_() % 21));
            cs->timer.async_wait([cs, type](error_code ec) {
                if (!ec)
                    cs->signal.emit(type);
            });
        }
    } else {
        curlasio::async_fetch(*engine_, std::move(req),
                              completion{this, in, call_guard(ledger_, id), nullptr});
    }

    // Now and then abort everything in flight; transfers started before it
    // may then end with operation_aborted whatever their kind.
    if (opt_.cancel_all_every && issued_ % opt_.cancel_all_every == 0) {
        ++epoch_;
        engine_->cancel();
    }
}

bool soak::expected(const transfer_info& in, error_code ec, const curlasio::response& r) const {
    const bool aborted = ec == asio::error::operation_aborted;
    if (aborted && in.epoch < epoch_)
        return true; // an engine-wide cancel came after it started
    auto good_body = [&] {
        return !ec && r.status == 200 && r.body.size() == in.size &&
               std::memcmp(r.body.data(), body_pattern().data(), in.size) == 0;
    };
    switch (in.k) {
    case kind::normal:
    case kind::normal_close:
    case kind::chunked:
    case kind::delayed:
        return good_body();
    case kind::reset:
    case kind::close:
        return ec && !aborted && ec != boost::system::errc::timed_out;
    case kind::stall:
        return ec == boost::system::errc::timed_out;
    case kind::cancel_now:
        // Both the start and the cancellation are posted to the engine, in
        // this order: the cancellation always finds the transfer running.
        return aborted;
    case kind::cancel_later:
        return aborted || good_body();
    case kind::refused:
        return ec == curlasio::make_error_code(CURLE_COULDNT_CONNECT);
    case kind::count_:
        break;
    }
    return false;
}

void soak::tally(const transfer_info& in, error_code ec) {
    std::string key = name(in.k);
    if (!ec)
        key += ": ok";
    else if (ec == asio::error::operation_aborted)
        key += ": operation_aborted";
    else
        key += std::string(": ") + ec.category().name() + ":" + std::to_string(ec.value()) + " (" +
               ec.message() + ")";
    ++outcomes_[key];
}

void soak::on_complete(const transfer_info& in, error_code ec, curlasio::response r) {
    ++ledger_.handler_calls;
    std::uint8_t& calls = ledger_.calls[in.id];
    if (calls != 0) {
        ++ledger_.double_calls;
        ledger_.note("handler of transfer " + std::to_string(in.id) + " (" + name(in.k) + ") ran again");
        if (calls < 255)
            ++calls;
        return;
    }
    calls = 1;
    --in_flight_;
    ++done_;
    if (opt_.inject_leak_bytes) {
        void* p = std::malloc(std::max(opt_.inject_leak_bytes, sizeof(void*)));
        std::memcpy(p, &leaked_head, sizeof(void*));
        leaked_head = p;
    }
    if (opt_.inject_fd_leak_every && done_ % opt_.inject_fd_leak_every == 0)
        (void)::dup(STDOUT_FILENO);
    tally(in, ec);
    if (!expected(in, ec, r)) {
        ++unexpected_;
        ledger_.note("transfer " + std::to_string(in.id) + " (" + name(in.k) + ", " +
                     std::to_string(in.size) + " bytes expected): ec " + ec.category().name() + ":" +
                     std::to_string(ec.value()) + " " + ec.message() + ", status " +
                     std::to_string(r.status) + ", body " + std::to_string(r.body.size()) + " bytes, \"" +
                     r.error_message + "\"");
    }
    top_up();
}

void soak::report(const char* tag) {
    const auto now = clock_type::now();
    const double elapsed = seconds_since(start_);
    const double interval = std::chrono::duration<double>(now - last_report_).count();
    const double rate_now = interval > 0 ? double(done_ - done_at_last_report_) / interval : 0;
    last_report_ = now;
    done_at_last_report_ = done_;
    const snapshot s = take();
    std::printf("[%7.1fs]%s done %" PRIu64 " (%.0f/s, now %.0f/s) in flight %u | fds %zu "
                "(server conns %ld) | rss %.1f MiB | handlers %" PRIu64 " | unexpected %" PRIu64 "\n",
                elapsed, tag, done_, elapsed > 0 ? double(done_) / elapsed : 0.0, rate_now, in_flight_, s.fds,
                s.sessions, mib(double(s.rss)), ledger_.handler_calls, unexpected_);
    std::fflush(stdout);
}

void soak::print_snapshot(const char* what, const snapshot& s) {
    std::printf("%s: fds %zu (server conns %ld, client conns %ld, engine duplicates %ld, other fds %ld), "
                "rss %.2f MiB\n",
                what, s.fds, s.sessions, s.connections(), s.duplicates(), s.other_fds(), mib(double(s.rss)));
    std::fflush(stdout);
}

asio::awaitable<void> soak::sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(io_, d);
    co_await t.async_wait(use_tuple);
}

asio::awaitable<bool> soak::drain(std::chrono::seconds limit) {
    const auto deadline = clock_type::now() + limit;
    while (in_flight_ > 0) {
        if (clock_type::now() > deadline)
            co_return false;
        co_await sleep(10ms);
    }
    co_return true;
}

// Waits for the server's thread to close its ends of connections libcurl
// dropped, until the counts hold still.
asio::awaitable<snapshot> soak::settle() {
    const auto deadline = clock_type::now() + 5s;
    co_await sleep(100ms);
    snapshot prev = take();
    int stable = 0;
    for (;;) {
        co_await sleep(20ms);
        snapshot s = take();
        stable = (s.fds == prev.fds && s.sessions == prev.sessions) ? stable + 1 : 0;
        prev = s;
        if (stable >= 5 || clock_type::now() > deadline)
            co_return s;
    }
}

asio::awaitable<int> soak::run() {
    int failed = 0;
    auto fail = [&](const std::string& why) {
        std::printf("FAIL: %s\n", why.c_str());
        std::fflush(stdout);
        failed = 1;
    };

    // The descriptors of the process without any engine: the server's,
    // this io_context's reactor (made by the first timer), stdio.
    co_await sleep(10ms);
    const snapshot pre_engine = take();
    print_snapshot("before the engine", pre_engine);

    engine_.emplace(io_);
    start_ = last_report_ = clock_type::now();
    top_up();

    std::optional<snapshot> baseline;
    std::uint64_t done_at_baseline = 0;
    const double warmup_transfers = double(opt_.transfers) / 10;
    auto next_report = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                               std::chrono::duration<double>(opt_.report_every));
    bool time_up = false;
    for (;;) {
        co_await sleep(10ms);
        const double elapsed = seconds_since(start_);
        if (clock_type::now() >= next_report) {
            report("");
            next_report += std::chrono::duration_cast<clock_type::duration>(
                std::chrono::duration<double>(opt_.report_every));
        }
        if (elapsed >= opt_.seconds) {
            time_up = true;
            break;
        }
        if (issued_ >= opt_.transfers)
            break;
        // Warm-up: a tenth of the transfers and warmup_seconds, or at the
        // latest half the run, so that short runs still get a baseline.
        if (!baseline && ((double(done_) >= warmup_transfers && elapsed >= opt_.warmup_seconds) ||
                          done_ >= opt_.transfers / 2 || elapsed >= opt_.seconds / 2)) {
            // Both measurements are taken with nothing in flight.
            paused_ = true;
            if (!co_await drain(60s)) {
                fail("transfers did not drain at warm-up (a hang?)");
                break;
            }
            baseline = co_await settle();
            done_at_baseline = done_;
            report(" warm-up");
            print_snapshot("baseline after warm-up", *baseline);
            paused_ = false;
            top_up();
        }
    }

    stopping_ = true;
    if (time_up)
        std::printf("time limit of %.0f s reached after %" PRIu64 " of %" PRIu64
                    " transfers issued: stopping (not a failure)\n",
                    opt_.seconds, issued_, opt_.transfers);
    std::fflush(stdout);
    if (!co_await drain(60s)) {
        fail(std::to_string(in_flight_) + " transfers still in flight 60 s after the end");
        int listed = 0;
        for (std::uint64_t id = 0; id < issued_ && listed < 10; ++id)
            if (ledger_.calls[id] == 0) {
                std::printf("  transfer %" PRIu64 " (%s) has not completed\n", id, name(kinds_[id]));
                ++listed;
            }
        engine_->cancel();
        co_await drain(5s);
    }
    const double duration = seconds_since(start_);
    report(" end");
    const snapshot end = co_await settle();
    print_snapshot("end, drained", end);

    // Every transfer issued completed exactly once.
    std::uint64_t missing = 0;
    for (std::uint64_t id = 0; id < issued_; ++id)
        if (ledger_.calls[id] == 0)
            ++missing;
    if (missing)
        fail(std::to_string(missing) + " handlers never ran");
    if (ledger_.double_calls)
        fail(std::to_string(ledger_.double_calls) + " handlers ran more than once");
    if (ledger_.handler_calls != issued_)
        fail("handler calls " + std::to_string(ledger_.handler_calls) + " != transfers " +
             std::to_string(issued_));
    if (unexpected_)
        fail(std::to_string(unexpected_) + " transfers ended unexpectedly");

    if (baseline) {
        const long fd_growth = end.other_fds() - baseline->other_fds();
        const double rss_growth = double(end.rss) - double(baseline->rss);
        const std::uint64_t after = done_ - done_at_baseline;
        std::printf("growth after warm-up over %" PRIu64 " transfers: fds %+ld (other fds %+ld), "
                    "rss %+.2f MiB (%+.1f bytes/transfer)\n",
                    after, long(end.fds) - long(baseline->fds), fd_growth, mib(rss_growth),
                    after ? rss_growth / double(after) : 0.0);
        if (fd_growth > opt_.fd_slack)
            fail("descriptors other than connection ends grew by " + std::to_string(fd_growth) +
                 " after warm-up (slack " + std::to_string(opt_.fd_slack) + ")");
        // Connections libcurl keeps are bounded by its cache (the engine
        // keeps it at four per transfer at the busiest moment), and the
        // engine holds at most one duplicate of each.
        const long cache = 4 * static_cast<long>(opt_.concurrency);
        if (end.connections() > cache)
            fail("libcurl holds " + std::to_string(end.connections()) +
                 " connections after the drain, more than " + "its cache can (" + std::to_string(cache) +
                 ")");
        if (end.duplicates() > end.connections())
            fail("the engine holds " + std::to_string(end.duplicates()) + " duplicates of " +
                 std::to_string(end.connections()) + " connections");
        if (opt_.rss_slack_mib >= 0 && mib(rss_growth) > opt_.rss_slack_mib)
            fail("RSS grew by " + std::to_string(mib(rss_growth)) + " MiB after warm-up (slack " +
                 std::to_string(opt_.rss_slack_mib) + " MiB)");
        else if (opt_.rss_slack_mib < 0)
            std::printf("RSS growth reported only (AddressSanitizer build or --rss-slack-mib < 0)\n");
    } else {
        std::printf("no warm-up baseline (the run ended first): growth not checked\n");
    }

    // Without the engine, the descriptors return to what they were before it.
    engine_.reset();
    snapshot after_engine = co_await settle();
    for (auto deadline = clock_type::now() + 5s;
         after_engine.fds > pre_engine.fds && clock_type::now() < deadline;)
        after_engine = co_await settle();
    print_snapshot("engine destroyed", after_engine);
    if (after_engine.fds != pre_engine.fds || after_engine.sessions != 0)
        fail("after the engine: fds " + std::to_string(after_engine.fds) + " (before it " +
             std::to_string(pre_engine.fds) + "), server connections " +
             std::to_string(after_engine.sessions));

    std::printf("transfers %" PRIu64 " in %.1f s (%.0f/s), unexpected %" PRIu64 ", handler calls %" PRIu64
                ", dropped %" PRIu64 ", double %" PRIu64 "\n",
                done_, duration, duration > 0 ? double(done_) / duration : 0.0, unexpected_,
                ledger_.handler_calls, ledger_.dropped, ledger_.double_calls);
    std::printf("kinds:");
    for (std::size_t i = 0; i < kind_count; ++i)
        std::printf(" %s %" PRIu64, kind_names[i], per_kind_[i]);
    std::printf("; engine-wide cancels %" PRIu64 "\noutcomes:\n", epoch_);
    for (auto& [key, n] : outcomes_)
        std::printf("  %-60s %" PRIu64 "\n", key.c_str(), n);
    std::fflush(stdout);
    co_return failed;
}

bool parse(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help")
            return false;
        if (i + 1 >= argc) {
            std::fprintf(stderr, "curlasio_soak: %s needs a value\n", a.c_str());
            return false;
        }
        const char* v = argv[++i];
        char* end = nullptr;
        if (a == "--transfers")
            o.transfers = std::strtoull(v, &end, 10);
        else if (a == "--seconds")
            o.seconds = std::strtod(v, &end);
        else if (a == "--concurrency")
            o.concurrency = unsigned(std::strtoul(v, &end, 10));
        else if (a == "--seed")
            o.seed = std::strtoull(v, &end, 10);
        else if (a == "--report-every")
            o.report_every = std::strtod(v, &end);
        else if (a == "--warmup-seconds")
            o.warmup_seconds = std::strtod(v, &end);
        else if (a == "--stall-timeout-ms")
            o.stall_timeout = std::chrono::milliseconds(std::strtol(v, &end, 10));
        else if (a == "--cancel-all-every")
            o.cancel_all_every = std::strtoull(v, &end, 10);
        else if (a == "--fd-slack")
            o.fd_slack = std::strtol(v, &end, 10);
        else if (a == "--rss-slack-mib")
            o.rss_slack_mib = std::strtod(v, &end);
        else if (a == "--inject-leak-bytes")
            o.inject_leak_bytes = std::strtoull(v, &end, 10);
        else if (a == "--inject-fd-leak-every")
            o.inject_fd_leak_every = std::strtoull(v, &end, 10);
        else {
            std::fprintf(stderr, "curlasio_soak: unknown option %s\n", a.c_str());
            return false;
        }
        if (!end || *end != '\0') {
            std::fprintf(stderr, "curlasio_soak: bad value for %s: %s\n", a.c_str(), v);
            return false;
        }
    }
    if (o.transfers == 0 || o.transfers > 100'000'000 || o.concurrency == 0 || o.seconds <= 0 ||
        o.report_every <= 0) {
        std::fprintf(stderr, "curlasio_soak: transfers must be 1..1e8; concurrency, seconds "
                             "and report-every positive\n");
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    if (!parse(argc, argv, opt)) {
        std::fprintf(stderr, "usage: curlasio_soak [--transfers N] [--seconds S] [--concurrency C] "
                             "[--seed X] [--report-every S] [--warmup-seconds S] [--stall-timeout-ms T] "
                             "[--cancel-all-every K] [--fd-slack F] [--rss-slack-mib M] "
                             "[--inject-leak-bytes B] [--inject-fd-leak-every K]\n");
        return 2;
    }
    raise_fd_limit();
    std::printf("curlasio_soak: transfers %" PRIu64 ", time limit %.0f s, concurrency %u, "
                "seed %" PRIu64 ", %s\n",
                opt.transfers, opt.seconds, opt.concurrency, opt.seed, curl_version());
    std::fflush(stdout);
    curl_global_init(CURL_GLOBAL_DEFAULT); // process-wide, not the engine's
    body_pattern();

    int rc = 1;
    handler_ledger ledger; // outlives io, which may destroy handlers
    try {
        server srv;
        {
            asio::io_context io(1);
            soak s(opt, io, ledger, srv);
            bool finished = false;
            asio::co_spawn(io, s.run(), [&](std::exception_ptr e, int result) {
                finished = true;
                rc = result;
                if (e) {
                    rc = 1;
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                        std::printf("FAIL: exception: %s\n", ex.what());
                    }
                }
            });
            io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::duration<double>(opt.seconds + 180)));
            if (!finished) {
                std::printf("FAIL: the run did not finish within its time limit + 180 s\n");
                rc = 1;
            } else {
                // The engine is gone and nothing else was started: leftover
                // work means something holds a work guard or a wait forever.
                if (!io.stopped())
                    io.run_for(5s);
                if (!io.stopped()) {
                    std::printf("FAIL: the io_context still has work 5 s after the engine's end\n");
                    rc = 1;
                }
            }
        }
        srv.stop();
    } catch (const std::exception& e) {
        std::printf("FAIL: exception: %s\n", e.what());
        rc = 1;
    }
    if (ledger.dropped) {
        std::printf("FAIL: %" PRIu64 " handlers destroyed without being called\n", ledger.dropped);
        rc = 1;
    }
    for (const auto& f : ledger.failures)
        std::printf("  %s\n", f.c_str());
    std::printf("%s\n", rc == 0 ? "PASS" : "FAIL");
    return rc;
}
