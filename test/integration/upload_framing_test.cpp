// Regression tests for the third reliability round, the upload side: a
// streamed body never puts a byte past the Content-Length it announced (a
// keep-alive peer would read it as a request of its own), a fetch paused on
// its source still sees its peer close, and a read into an empty buffer of a
// download_stream is defined. A raw peer records the exact bytes on the wire.

#include <toolkit/toolkit.hpp>

#include <curlasio/beast.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/time.h>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace curlasio;
using namespace curlasio::test;
using namespace std::chrono_literals;

namespace {

const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

// One connection on 127.0.0.1, served on a thread of its own with blocking
// reads: reads the request head, then (answer) its Content-Length body and
// answers 200, then records every further byte until the client closes
// (after_body); or (close_after_head) closes `close_delay` after the head.
class wire_peer {
public:
    enum class mode { answer, close_after_head };

    explicit wire_peer(mode m = mode::answer, std::chrono::milliseconds close_delay = 200ms)
        : mode_(m), delay_(close_delay), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { serve(); });
    }
    ~wire_peer() {
        if (thread_.joinable()) {
            error_code ignored;
            asio::ip::tcp::socket poke(io_); // wakes an accept still blocking
            poke.connect(acceptor_.local_endpoint(), ignored);
            thread_.join();
        }
    }

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/up";
    }
    // Waits (bounded) for the connection to end; then the records are stable.
    bool finished() {
        if (thread_.joinable()) {
            for (int i = 0; i < 500 && !done_; ++i)
                std::this_thread::sleep_for(10ms);
            if (!done_)
                return false;
            thread_.join();
        }
        return true;
    }
    const std::string& head() const { return head_; }
    const std::string& body() const { return body_; }
    const std::string& after_body() const { return after_; }

private:
    void serve() {
        asio::ip::tcp::socket s(io_);
        error_code ec;
        acceptor_.accept(s, ec);
        if (!ec) {
            // Bounded: a client that never closes ends the record after 5 s.
            timeval tv{5, 0};
            ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            session(s);
        }
        done_ = true;
    }

    void session(asio::ip::tcp::socket& s) {
        asio::streambuf buf;
        error_code ec;
        const std::size_t n = asio::read_until(s, buf, "\r\n\r\n", ec);
        if (ec)
            return;
        std::string all(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
        head_ = all.substr(0, n);
        std::string rest = all.substr(n);
        if (mode_ == mode::close_after_head) {
            std::this_thread::sleep_for(delay_);
            return; // closed with the socket
        }
        const std::size_t at = head_.find("Content-Length: ");
        const std::size_t length = at == std::string::npos ? 0 : std::stoul(head_.substr(at + 16));
        char chunk[4096];
        while (rest.size() < length) {
            const std::size_t got = s.read_some(asio::buffer(chunk), ec);
            if (ec)
                break;
            rest.append(chunk, got);
        }
        body_ = rest.substr(0, std::min(length, rest.size()));
        after_ = rest.substr(body_.size());
        asio::write(s, asio::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")), ec);
        // Whatever follows the body on this connection, until the client
        // closes it.
        while (!ec) {
            const std::size_t got = s.read_some(asio::buffer(chunk), ec);
            after_.append(chunk, got);
        }
    }

    mode mode_;
    std::chrono::milliseconds delay_;
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> done_{false};
    std::string head_, body_, after_;
    std::thread thread_;
};

// Every request on every connection, parsed by Beast, recorded by its
// X-Case field: the body's size and checksum, and whether the message
// ended. Bytes that follow a message and are no request with an X-Case
// (what a body overrun would put there) count as strays.
class framing_peer {
public:
    struct record {
        std::uint64_t size = 0, hash = fnv1a_offset;
        bool complete = false;
    };

    framing_peer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { serve(); });
    }
    ~framing_peer() {
        stop_ = true;
        error_code ignored;
        asio::ip::tcp::socket poke(io_);
        poke.connect(acceptor_.local_endpoint(), ignored);
        thread_.join();
    }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/up";
    }
    // Once the client has closed every connection.
    bool quiet() const { return open_ == 0; }
    std::map<int, record> records() const {
        std::lock_guard lock(m_);
        return records_;
    }
    int strays() const {
        std::lock_guard lock(m_);
        return strays_;
    }

private:
    void serve() {
        std::vector<std::thread> sessions;
        while (!stop_) {
            asio::ip::tcp::socket s(io_);
            error_code ec;
            acceptor_.accept(s, ec);
            if (ec || stop_)
                break;
            ++open_;
            sessions.emplace_back([this, s = std::move(s)]() mutable {
                session(s);
                --open_;
            });
        }
        for (auto& t : sessions)
            t.join();
    }

    void session(asio::ip::tcp::socket& s) {
        timeval tv{10, 0}; // bounded: a client gone silent ends the session
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        boost::beast::flat_buffer buf;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(boost::none);
            parser.header_limit(64 * 1024);
            error_code ec;
            http::read(s, buf, parser, ec);
            std::lock_guard lock(m_);
            if (ec && !parser.is_header_done()) {
                // A clean end between messages, or bytes that are no request.
                if (ec != http::error::end_of_stream || buf.size() != 0)
                    ++strays_;
                return;
            }
            const auto& m = parser.get();
            const auto field = m.find("X-Case");
            int id = -1;
            if (field != m.end())
                id = std::atoi(std::string(field->value()).c_str());
            if (id < 0 || records_.count(id)) {
                ++strays_;
                return;
            }
            record& r = records_[id];
            r.size = m.body().size();
            r.hash = fnv1a(fnv1a_offset, m.body());
            r.complete = !ec;
            if (ec)
                return; // the upload failed mid-body: the client dropped the connection
            http::response<http::string_body> res(http::status::ok, 11, "ok");
            res.prepare_payload();
            http::write(s, res, ec);
            if (ec)
                return;
        }
    }

    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> stop_{false};
    std::atomic<int> open_{0};
    mutable std::mutex m_;
    std::map<int, record> records_;
    int strays_ = 0;
    std::thread thread_;
};

struct fixture {
    asio::io_context io;
    std::optional<engine> eng{std::in_place, io};

    // Fetches, then closes the engine's connections so the peer's record ends.
    outcome put(wire_peer& peer, upload_source source) {
        request req(peer.url(), verb::put);
        req.upload = std::move(source);
        req.options.timeout = 20s; // a hang fails here, not the whole suite
        outcome out = fetch_sync(io, *eng, std::move(req));
        eng.reset();
        io.restart();
        io.poll();
        BOOST_TEST_REQUIRE(peer.finished());
        return out;
    }
};

using read_done = asio::any_completion_handler<void(error_code, std::size_t)>;

// Fills whatever room it is given with `bytes` (from its start), repeatedly,
// and reports `extra` more bytes than it wrote.
auto filling(asio::io_context& io, std::string bytes, std::size_t* largest_room, std::size_t extra = 0) {
    return [&io, bytes = std::move(bytes), largest_room, extra](asio::mutable_buffer into, read_done done) {
        *largest_room = std::max(*largest_room, into.size());
        const std::size_t n = std::min(into.size(), bytes.size());
        std::memcpy(into.data(), bytes.data(), n);
        asio::post(io, [d = std::move(done), n = n + extra]() mutable { std::move(d)(error_code(), n); });
    };
}

// A Body whose size() says `size` but whose writer hands out all of `value`.
struct lying_body {
    struct value_type {
        std::string bytes;
        std::uint64_t size = 0;
    };
    static std::uint64_t size(const value_type& v) { return v.size; }
    class writer {
    public:
        using const_buffers_type = asio::const_buffer;
        template <bool isRequest, class Fields>
        writer(const http::header<isRequest, Fields>&, const value_type& v) : v_(v) {}
        void init(error_code& ec) { ec = {}; }
        boost::optional<std::pair<const_buffers_type, bool>> get(error_code& ec) {
            ec = {};
            if (sent_)
                return boost::none;
            sent_ = true;
            return {{asio::buffer(v_.bytes), false}};
        }

    private:
        const value_type& v_;
        bool sent_ = false;
    };
};

std::string temp_file(const std::string& contents) {
    char path[] = "/tmp/curlasio-framing-XXXXXX";
    const int fd = ::mkstemp(path);
    BOOST_TEST_REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(upload_framing, fixture)

// ---- defect 1: a source that delivers past its size -----------------------------------------

BOOST_AUTO_TEST_CASE(a_function_source_is_handed_no_more_room_than_its_size) {
    wire_peer peer;
    std::size_t largest_room = 0;
    const outcome out = put(
        peer, upload_source::from_function(
                  io.get_executor(), filling(io, "0123456789" + smuggled, &largest_room), std::uint64_t(10)));
    BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(largest_room == 10u);
    BOOST_TEST(peer.head().find("Content-Length: 10\r\n") != std::string::npos);
    BOOST_TEST(peer.body() == "0123456789");
    BOOST_TEST(peer.after_body() == "", "bytes after the body: " << peer.after_body());
}

BOOST_AUTO_TEST_CASE(a_source_that_reports_more_than_its_room_fails_and_sends_none_of_it) {
    // Without a size and with one: a read that claims more bytes than its
    // buffer holds is the source's error, and nothing of it goes out.
    for (const std::optional<std::uint64_t> size :
         {std::optional<std::uint64_t>(), std::optional<std::uint64_t>(64)}) {
        eng.emplace(io);
        wire_peer peer;
        std::size_t largest_room = 0;
        const outcome out =
            put(peer, upload_source::from_function(
                          io.get_executor(), filling(io, std::string(64, 'a'), &largest_room, 1), size, 16));
        BOOST_TEST((out.ec == errc::upload_overrun), out.ec.message());
        BOOST_TEST(out.res.error_message.empty() == false);
        BOOST_TEST(largest_room == 16u);
        BOOST_TEST(peer.body().find('a') == std::string::npos);
        BOOST_TEST(peer.after_body().find('a') == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_stream_source_stops_reading_at_its_size) {
    // A pipe holding 10 body bytes and a request after them.
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    const std::string all = "0123456789" + smuggled;
    BOOST_TEST_REQUIRE(::write(fds[1], all.data(), all.size()) == static_cast<ssize_t>(all.size()));
    asio::posix::stream_descriptor in(io, fds[0]);
    wire_peer peer;
    const outcome out = put(peer, upload_source::from_stream(in, std::uint64_t(10)));
    BOOST_TEST(!out.ec, out.ec.message());
    BOOST_TEST(peer.body() == "0123456789");
    BOOST_TEST(peer.after_body() == "", "bytes after the body: " << peer.after_body());
    // The rest is not read: still in the pipe.
    char left[256];
    BOOST_TEST(::read(fds[0], left, sizeof left) == static_cast<ssize_t>(smuggled.size()));
    ::close(fds[1]);
}

BOOST_AUTO_TEST_CASE(a_beast_writer_longer_than_its_size_sends_only_the_size) {
    wire_peer peer;
    http::request<lying_body> m(http::verb::put, peer.url(), 11);
    m.body().bytes = "0123456789" + smuggled;
    m.body().size = 10;
    m.prepare_payload();
    http::response<http::string_body> res;
    probe p;
    beast_fetch_options opts;
    opts.options.timeout = 20s;
    async_fetch(*eng, m, res, opts, probe_handler(p));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 30s));
    eng.reset();
    io.restart();
    io.poll();
    BOOST_TEST_REQUIRE(peer.finished());
    BOOST_TEST(!p.ec, p.ec.message());
    BOOST_TEST(peer.body() == "0123456789");
    BOOST_TEST(peer.after_body() == "", "bytes after the body: " << peer.after_body());
}

// ---- defect 2: a file that changes after from_file ------------------------------------------

BOOST_AUTO_TEST_CASE(a_file_that_grows_sends_only_the_size_it_announced) {
    const std::string path = temp_file("0123456789");
    upload_source source = upload_source::from_file(path);
    std::ofstream(path, std::ios::binary | std::ios::app) << smuggled; // 35 more
    wire_peer peer;
    const outcome out = put(peer, std::move(source));
    std::remove(path.c_str());
    BOOST_TEST(!out.ec, out.ec.message());
    BOOST_TEST(peer.head().find("Content-Length: 10\r\n") != std::string::npos);
    BOOST_TEST(peer.body() == "0123456789");
    BOOST_TEST(peer.after_body() == "", "bytes after the body: " << peer.after_body());
}

BOOST_AUTO_TEST_CASE(a_file_that_shrinks_fails_with_a_size_mismatch) {
    const std::string path = temp_file("0123456789");
    upload_source source = upload_source::from_file(path);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "01234";
    wire_peer peer;
    const outcome out = put(peer, std::move(source));
    std::remove(path.c_str());
    BOOST_TEST((out.ec == errc::upload_size_mismatch), out.ec.message());
}

// ---- defect 3: a fetch paused on its source when the peer closes ----------------------------

BOOST_AUTO_TEST_CASE(a_fetch_paused_on_its_source_ends_when_the_peer_closes) {
    for (const std::optional<std::uint64_t> size :
         {std::optional<std::uint64_t>(), std::optional<std::uint64_t>(100)}) {
        eng.emplace(io);
        wire_peer peer(wire_peer::mode::close_after_head, 200ms);
        held_read source;
        request req(peer.url(), verb::post);
        req.upload = source.source(io, size);
        probe p; // no timeout: the close alone must end it
        const auto started = steady::now();
        async_fetch(*eng, std::move(req), probe_handler(p));
        BOOST_TEST_REQUIRE(run_until(
                               io, [&] { return p.calls > 0; }, 10s),
                           "still paused after the peer closed");
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(p.ec);
        BOOST_TEST(p.ec != asio::error::operation_aborted, p.ec.message());
        BOOST_TEST(ms_between(started, p.at) < 5000);
        BOOST_TEST_MESSAGE("paused upload, peer closed: " << p.ec.message() << " after "
                                                          << ms_between(started, p.at) << " ms");
        io.restart();
        io.poll();
        BOOST_TEST(source.cancelled);
        BOOST_TEST(!source.held);
        BOOST_TEST(peer.finished());
    }
}

// ---- defect 4: an empty buffer in a download_stream read ------------------------------------

BOOST_AUTO_TEST_CASE(a_download_stream_read_skips_empty_buffers_of_the_sequence) {
    test_server server;
    download_stream s(*eng);
    error_code ec;
    bool opened = false;
    s.async_open(request(server.url("/bytes/100")), [&](error_code e, response) {
        ec = e;
        opened = true;
    });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return opened; }));
    BOOST_TEST_REQUIRE(!ec, ec.message());
    std::string got;
    for (int i = 0; i < 200; ++i) {
        char a[7], b[5];
        // Null, empty, real, empty: valid elements of a buffer sequence.
        const std::array<asio::mutable_buffer, 4> seq{asio::mutable_buffer(), asio::buffer(a, 0),
                                                      asio::buffer(a), asio::buffer(b)};
        std::size_t n = 0;
        bool read = false;
        s.async_read_some(seq, [&](error_code e, std::size_t k) {
            ec = e;
            n = k;
            read = true;
        });
        BOOST_TEST_REQUIRE(run_until(io, [&] { return read; }));
        got.append(a, std::min<std::size_t>(n, sizeof a));
        if (n > sizeof a)
            got.append(b, n - sizeof a);
        if (ec)
            break;
    }
    BOOST_TEST(ec == asio::error::eof, ec.message());
    BOOST_TEST(got == pattern(100));
}

// ---- randomized: sources of every shape against the framing rule --------------------------

// Sources of random sizes and read patterns (short, exact and long bodies
// under a size, zero-length reads, end with data, errors, overruns, inline
// and posted completions) on one engine, whose connections the peer keeps
// alive: every body that succeeded arrived whole and exact, every failure
// ended its message short, and nothing outside a message reached the peer.
// CURLASIO_UPLOAD_FUZZ_SECONDS (default 3) bounds it, CURLASIO_UPLOAD_FUZZ_SEED
// repeats a run.
BOOST_AUTO_TEST_CASE(random_sources_keep_to_their_framing) {
    const char* seconds_env = std::getenv("CURLASIO_UPLOAD_FUZZ_SECONDS");
    const char* seed_env = std::getenv("CURLASIO_UPLOAD_FUZZ_SEED");
    const auto budget = std::chrono::seconds(seconds_env ? std::atoi(seconds_env) : 3);
    const std::uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device{}();
    BOOST_TEST_MESSAGE("upload fuzz: seed " << seed << " (CURLASIO_UPLOAD_FUZZ_SEED), " << budget.count()
                                            << " s");
    std::mt19937_64 rng(seed);
    auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
    auto upto = [&](std::uint64_t n) { return n ? rng() % (n + 1) : 0; };

    framing_peer peer;
    struct expectation {
        error_code ec;
        std::uint64_t size = 0, hash = fnv1a_offset;
    };
    std::vector<expectation> expected;
    int room_violations = 0;
    const auto deadline = steady::now() + budget;
    for (int id = 0; id < 100000 && (id < 20 || steady::now() < deadline); ++id) {
        // What the source holds, and what it announces.
        const std::uint64_t holds = chance(20) ? upto(16) : chance(70) ? upto(20000) : upto(300000);
        std::optional<std::uint64_t> size;
        if (chance(60))
            size = chance(50) ? holds : chance(50) ? holds + 1 + upto(5000) : holds - upto(holds);
        // Tiny buffers for small bodies only: a read per byte of 300 KB
        // would take the whole budget.
        const std::size_t buffer = holds <= 4096 && chance(50) ? 1 + upto(64)
                                   : chance(30)                ? 1024 + upto(8192)
                                                               : upload_source::default_buffer_size;
        struct state {
            std::uint64_t delivered = 0, hash = fnv1a_offset;
            bool ended = false;
            error_code ends_with;
        };
        auto st = std::make_shared<state>();
        auto fail_at = chance(10) ? std::optional<std::uint64_t>(upto(holds)) : std::nullopt;
        const bool overrun = chance(5);
        auto f = [&, st, holds, size, fail_at, overrun, id](asio::mutable_buffer into, read_done done) {
            if (size && into.size() > *size - st->delivered)
                ++room_violations;
            std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(into.size(), holds - st->delivered));
            if (n && chance(30))
                n = static_cast<std::size_t>(upto(n)); // short reads, zero-length ones included
            error_code ec;
            if (fail_at && st->delivered + n >= *fail_at) {
                n = static_cast<std::size_t>(*fail_at - st->delivered);
                ec = make_error_code(boost::system::errc::io_error);
            } else if (overrun && st->delivered + n >= holds / 2) {
                n = into.size() + 1;
                ec = {};
            } else if (st->delivered + n == holds && chance(50)) {
                ec = asio::error::eof; // the end with the last bytes
            } else if (n == 0 && st->delivered == holds) {
                ec = asio::error::eof;
            }
            auto* bytes = static_cast<char*>(into.data());
            const std::size_t fill = std::min(n, into.size());
            for (std::size_t i = 0; i < fill; ++i)
                bytes[i] = static_cast<char>('a' + (st->delivered + i + static_cast<std::uint64_t>(id)) % 26);
            if (n <= into.size()) {
                st->hash = fnv1a(st->hash, std::string_view(bytes, n));
                st->delivered += n;
            }
            if (n > into.size())
                st->ends_with = errc::upload_overrun, st->ended = true;
            else if (ec)
                st->ends_with = ec == asio::error::eof ? error_code() : ec, st->ended = true;
            if (chance(50))
                return std::move(done)(ec, n); // inside f: the source still posts
            asio::post(io, [d = std::move(done), ec, n]() mutable { std::move(d)(ec, n); });
        };
        request req(peer.url(), verb::post);
        req.headers.emplace_back("X-Case", std::to_string(id));
        req.upload = upload_source::from_function(io.get_executor(), f, size, buffer);
        req.options.timeout = 20s;
        const outcome out = fetch_sync(io, *eng, std::move(req));

        // A known size reached ends the body: an error that came with its
        // last bytes is not read (the peer has the whole message).
        expectation e;
        if (size && st->delivered == *size)
            e.ec = {};
        else if (st->ended && st->ends_with)
            e.ec = st->ends_with;
        else if (size)
            e.ec = errc::upload_size_mismatch;
        e.size = st->delivered;
        e.hash = st->hash;
        BOOST_TEST((out.ec == e.ec), "case " << id << ": " << out.ec.message() << " ("
                                             << out.res.error_message << "), expected " << e.ec.message());
        if (!e.ec)
            BOOST_TEST(out.res.status == 200, "case " << id);
        expected.push_back(e);
        if (out.ec != e.ec)
            break; // one failure is enough to read
    }
    eng.reset();
    io.restart();
    io.poll();
    BOOST_TEST_REQUIRE(eventually([&] { return peer.quiet(); }));
    const auto records = peer.records();
    BOOST_TEST(peer.strays() == 0);
    BOOST_TEST(room_violations == 0);
    int succeeded = 0;
    for (std::size_t id = 0; id < expected.size(); ++id) {
        const expectation& e = expected[id];
        const auto it = records.find(static_cast<int>(id));
        if (e.ec) {
            BOOST_TEST((it == records.end() || !it->second.complete),
                       "case " << id << " failed but its body ended");
            continue;
        }
        ++succeeded;
        BOOST_TEST_REQUIRE((it != records.end()), "case " << id);
        BOOST_TEST(it->second.complete, "case " << id);
        BOOST_TEST(it->second.size == e.size, "case " << id);
        BOOST_TEST(it->second.hash == e.hash, "case " << id);
    }
    BOOST_TEST_MESSAGE("upload fuzz: " << expected.size() << " cases, " << succeeded << " succeeded");
    BOOST_TEST(expected.size() >= 20u);
}

BOOST_AUTO_TEST_SUITE_END()
