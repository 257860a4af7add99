// The fault battery: every fault a peer or the environment can throw at a
// transfer ends in a documented error_code, the handler runs exactly once,
// the process's descriptors return to their baseline and the engine serves
// the next fetch.

#include <toolkit/toolkit.hpp>
#include "internals.hpp"

#include <support/test_server.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <functional>
#include <optional>
#include <tuple>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using curlasio::test::encode;
using curlasio::test::eventually;
using curlasio::test::fetch_sync;
using curlasio::test::ms_between;
using curlasio::test::open_fd_count;
using curlasio::test::probe;
using curlasio::test::probe_handler;
using curlasio::test::run_until;
using curlasio::test::steady;

namespace {

struct fixture : curlasio::test::engine_fixture {
    std::size_t baseline = open_fd_count();

    // Both ends of every connection of the fault are gone (the server closes
    // its side asynchronously), and the engine still serves a fetch. Pass
    // false when the test also made fetches whose connections stay cached.
    void check_recovered(bool all_closed = true) {
        if (all_closed)
            BOOST_TEST(eventually([&] { return open_fd_count() == baseline; }),
                       "fds " << open_fd_count() << " vs baseline " << baseline);
        auto next = fetch_sync(io, eng, request(server.url("/hello")));
        BOOST_TEST(!next.ec);
        BOOST_TEST(next.res.body == "hello world");
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(faults, fixture)

BOOST_AUTO_TEST_CASE(refused_and_unresolvable_leave_no_descriptor_behind) {
    // The threaded resolver's socketpair and the refused socket both come
    // and go; a refusal on loopback is immediate, not a connect timeout.
    for (int i = 0; i < 20; ++i) {
        const auto start = steady::now();
        auto refused = fetch_sync(io, eng, request("http://127.0.0.1:1/"));
        BOOST_TEST(refused.ec == make_error_code(CURLE_COULDNT_CONNECT));
        BOOST_TEST(ms_between(start, steady::now()) < 5000);
        auto unresolvable = fetch_sync(io, eng, request("http://no-such-host.invalid/"));
        BOOST_TEST(unresolvable.ec == make_error_code(CURLE_COULDNT_RESOLVE_HOST));
    }
    check_recovered();
}

BOOST_AUTO_TEST_CASE(reset_mid_body_reports_the_partial_count_and_drops_the_connection) {
    const auto accepted = server.connections_accepted();
    auto out = fetch_sync(io, eng, request(server.url("/reset-body/1000")));
    BOOST_TEST(out.ec.category().name() == std::string("curl.easy"));
    BOOST_TEST((out.ec == make_error_code(CURLE_RECV_ERROR) || out.ec == make_error_code(CURLE_PARTIAL_FILE)),
               out.ec.message());
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.bytes_received == 1000u);
    BOOST_TEST(out.res.body.size() == 1000u);
    BOOST_TEST(!out.res.error_message.empty());
    check_recovered();
    // The reset connection was not reused for the next fetch.
    BOOST_TEST(server.connections_accepted() == accepted + 2);
}

BOOST_AUTO_TEST_CASE(connection_closed_without_a_response) {
    auto out = fetch_sync(io, eng, request(server.url("/close-early")));
    BOOST_TEST(out.ec == make_error_code(CURLE_GOT_NOTHING));
    check_recovered();
}

// Found by the transfer fuzzer: a field that starts with "HTTP/" is not a
// status line, and must neither restart the head nor overflow the status.
BOOST_AUTO_TEST_CASE(a_field_looking_like_a_status_line_is_a_field) {
    const std::string raw = "HTTP/1.1 200 OK\r\nX-A: 1\r\nHTTP/1.1 99999999999: x\r\n"
                            "Content-Length: 5\r\n\r\nhello";
    auto out = fetch_sync(io, eng, request(server.url("/raw?bytes=" + encode(raw))));
    BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.reason == "OK");
    BOOST_TEST(out.res.headers.find("X-A").value_or("") == "1");
    BOOST_TEST(out.res.headers.find("Content-Length").value_or("") == "5");
    BOOST_TEST(out.res.body == "hello");
}

BOOST_AUTO_TEST_CASE(stall_after_a_few_bytes_ends_within_the_low_speed_window) {
    request req(server.url("/stall"));
    req.options.limits.low_speed_limit = 100;
    req.options.limits.low_speed_time = std::chrono::seconds(1);
    const auto start = steady::now();
    auto out = fetch_sync(io, eng, req);
    const auto took = ms_between(start, steady::now());
    BOOST_TEST((out.ec == boost::system::errc::timed_out));
    BOOST_TEST(out.res.body.size() == 10u);
    // The window is 1 s; the 1 s margin only tells "stopped by the window"
    // from "stopped by something else" (there is no other deadline here).
    BOOST_TEST(took >= 1000);
    BOOST_TEST(took < 2000 + 1000);
    check_recovered();
}

BOOST_AUTO_TEST_CASE(slowloris_headers_end_at_the_total_deadline) {
    request req(server.url("/slowloris"));
    req.options.timeout = std::chrono::milliseconds(1500);
    const auto start = steady::now();
    auto out = fetch_sync(io, eng, req);
    const auto took = ms_between(start, steady::now());
    BOOST_TEST((out.ec == boost::system::errc::timed_out));
    BOOST_TEST(took >= 1500);
    BOOST_TEST(took < 4000); // the server would go on for ever
    check_recovered();
}

BOOST_AUTO_TEST_CASE(slowloris_headers_end_at_the_low_speed_window) {
    request req(server.url("/slowloris"));
    req.options.limits.low_speed_limit = 1000; // the server sends about 30 bytes/s
    req.options.limits.low_speed_time = std::chrono::seconds(1);
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST((out.ec == boost::system::errc::timed_out));
    check_recovered();
}

BOOST_AUTO_TEST_CASE(endless_header_lines_hit_the_header_cap) {
    auto out = fetch_sync(io, eng, request(server.url("/endless-headers")));
    BOOST_TEST(out.ec == make_error_code(errc::headers_too_large));
    BOOST_TEST(out.ec.message() == out.res.error_message);
    // Memory stayed bounded: what was kept is below the cap.
    std::size_t kept = 0;
    for (const auto& [name, value] : out.res.headers)
        kept += name.size() + value.size();
    BOOST_TEST(kept > 0u);
    BOOST_TEST(kept <= request{}.options.limits.max_header_size);

    request small(server.url("/endless-headers"));
    small.options.limits.max_header_size = 4096;
    auto capped = fetch_sync(io, eng, small);
    BOOST_TEST(capped.ec == make_error_code(errc::headers_too_large));
    BOOST_TEST(capped.res.headers.size() < 4096u / 50);
    check_recovered();
    // A long but finite head passes under the default cap.
    auto fine = fetch_sync(io, eng, request(server.url("/headers/2000")));
    BOOST_TEST(!fine.ec);
    BOOST_TEST(fine.res.headers.size() >= 2000u);
}

BOOST_AUTO_TEST_CASE(endless_chunked_body_hits_the_size_cap) {
    request req(server.url("/chunked-forever"));
    req.options.limits.max_response_size = 1 << 20;
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.ec == make_error_code(errc::response_too_large));
    BOOST_TEST(out.res.body.size() <= std::size_t{1} << 20);
    BOOST_TEST(out.res.body.size() > 0u);

    // Also when the body goes to a consumer instead of the response.
    std::size_t consumed = 0;
    req.on_body = [&](std::string_view chunk) { consumed += chunk.size(); };
    auto streamed = fetch_sync(io, eng, req);
    BOOST_TEST(streamed.ec == make_error_code(errc::response_too_large));
    BOOST_TEST(streamed.res.body.empty());
    BOOST_TEST(consumed <= std::size_t{1} << 20);
    BOOST_TEST(consumed > 0u);
    check_recovered();
}

BOOST_AUTO_TEST_CASE(io_context_stopped_and_restarted_mid_transfer) {
    std::vector<probe> probes(12);
    for (int i = 0; i < 10; ++i)
        async_fetch(eng, request(server.url("/delay/300")), probe_handler(probes[i]));
    // A body arriving in pieces before, during and after the stop.
    async_fetch(eng, request(server.url("/slow-body/8/100")), probe_handler(probes[10]));
    request short_deadline(server.url("/delay/5000"));
    short_deadline.options.timeout = std::chrono::milliseconds(400);
    async_fetch(eng, short_deadline, probe_handler(probes[11]));

    io.run_for(std::chrono::milliseconds(100));
    io.stop();
    // Stopped for longer than the delays and the short deadline: on restart,
    // sockets are ready and the timer is overdue; neither wake-up may be lost.
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    for (const probe& p : probes)
        BOOST_TEST(p.calls == 0);
    const auto restarted = steady::now();
    BOOST_TEST(run_until(io, [&] {
        for (const probe& p : probes)
            if (p.calls == 0)
                return false;
        return true;
    }));
    for (int i = 0; i < 10; ++i) {
        BOOST_TEST(!probes[i].ec);
        BOOST_TEST(probes[i].res.body == "delayed");
    }
    BOOST_TEST(!probes[10].ec);
    BOOST_TEST(probes[10].res.body.size() == 8u * 1024);
    BOOST_TEST((probes[11].ec == boost::system::errc::timed_out));
    // The overdue deadline fired at once, not a whole timeout later.
    BOOST_TEST(ms_between(restarted, probes[11].at) < 1000);
    for (const probe& p : probes)
        BOOST_TEST(p.calls == 1);
    check_recovered(false);
}

// In a child process (a lowered limit would starve this test process):
// fill the descriptor table under a lowered RLIMIT_NOFILE, fetch, free one
// descriptor, fetch, free all, fetch.
BOOST_AUTO_TEST_CASE(open_file_limit_lowered_in_a_child) {
    const std::string url = server.url("/hello");
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        // Child: no Boost.Test here; the exit status says what failed.
        int failures = 0;
        {
            asio::io_context child_io;
            engine child_eng(child_io);
            auto fetch = [&](request req) {
                int calls = 0;
                error_code ec;
                response res;
                async_fetch(child_eng, std::move(req), [&](error_code e, response r) {
                    ++calls;
                    ec = e;
                    res = std::move(r);
                });
                child_io.restart();
                child_io.run_for(std::chrono::seconds(10));
                return std::make_tuple(calls, ec, std::move(res));
            };
            // A first fetch while descriptors are plenty: it also warms the
            // sanitizers, whose checks need a descriptor of their own the
            // first time they meet a type (a pipe, under UBSan's vptr check).
            auto [calls0, ec0, res0] = fetch(request(url));
            if (calls0 != 1 || ec0)
                failures |= 16;

            rlimit lim{};
            ::getrlimit(RLIMIT_NOFILE, &lim);
            lim.rlim_cur = open_fd_count() + 16;
            ::setrlimit(RLIMIT_NOFILE, &lim);
            std::vector<int> filler;
            for (int fd; (fd = ::dup(0)) >= 0;)
                filler.push_back(fd);

            request starved(url);
            starved.set_option(CURLOPT_FRESH_CONNECT, 1L); // not the warm-up's connection
            const auto start = steady::now();
            auto [calls, ec, res] = fetch(starved);
            if (calls != 1)
                failures |= 1;
            if (ec != make_error_code(CURLE_COULDNT_CONNECT))
                failures |= 2;
            if (ms_between(start, steady::now()) > 5000)
                failures |= 4; // no hang

            // One descriptor free: libcurl's socket takes it, and nothing is
            // left for the engine's duplicate to wait on. The transfer must
            // fail at once, not sit unwatched until its deadline.
            ::close(filler.back());
            filler.pop_back();
            const auto start2 = steady::now();
            auto [calls1, ec1, res1] = fetch(starved);
            if (calls1 != 1)
                failures |= 32;
            if (ec1 != make_error_code(errc::out_of_resources))
                failures |= 64;
            if (ms_between(start2, steady::now()) > 5000)
                failures |= 4;

            for (int fd : filler)
                ::close(fd);
            auto [calls2, ec2, res2] = fetch(request(url));
            if (calls2 != 1 || ec2 || res2.body != "hello world")
                failures |= 8;
        }
        std::_Exit(failures); // never the parent's destructors (its server thread is not here)
    }
    int status = 0;
    const bool exited =
        eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, std::chrono::seconds(30));
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    BOOST_TEST(exited);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0,
               "child failures bitmask "
                   << WEXITSTATUS(status)
                   << " (1 calls, 2 error code, 4 hang, 8 no recovery, 16 no fetch before,"
                      " 32 calls, 64 error code with one fd free)");
}

// Every tiny transfer opens and closes its own connection, so fd numbers are
// reused between socket events all the time: no stale wait may reach the
// new socket, no transfer may stall.
BOOST_AUTO_TEST_CASE(fd_numbers_reused_in_a_tight_loop) {
    constexpr int total = 3000, in_flight = 64;
    int started = 0, done = 0, failed = 0;
    std::function<void()> launch = [&] {
        request req(server.url("/hello"));
        req.set_option(CURLOPT_FORBID_REUSE, 1L);
        ++started;
        async_fetch(eng, std::move(req), [&](error_code ec, response r) {
            ++done;
            if (ec || r.body != "hello world")
                ++failed;
            if (started < total)
                launch();
        });
    };
    for (int i = 0; i < in_flight; ++i)
        launch();
    BOOST_TEST(run_until(
                   io, [&] { return done == total; }, std::chrono::seconds(60)),
               done << " of " << total << " done");
    BOOST_TEST(failed == 0);
    BOOST_TEST(eng.stats().stalls_kicked == 0u);
    BOOST_TEST(eng.stats().busy_sockets_suspended == 0u);
    check_recovered();
}

// ---- cancellation in the stages the cancel tests cannot reach with the Beast server ----

// Cancels a fetch of `url` after 200 ms; it must not have completed before.
void cancel_while_stuck(fixture& f, const std::string& url, engine* other = nullptr) {
    probe p;
    asio::cancellation_signal cancel;
    async_fetch(other ? *other : f.eng, request(url),
                asio::bind_cancellation_slot(cancel.slot(), probe_handler(p)));
    asio::steady_timer t(f.io, std::chrono::milliseconds(200));
    t.async_wait([&](error_code) {
        BOOST_TEST(p.calls == 0); // really stuck in that stage
        cancel.emit(asio::cancellation_type::terminal);
    });
    BOOST_TEST(run_until(
        f.io, [&] { return p.calls == 1; }, std::chrono::seconds(10)));
    BOOST_TEST(p.ec == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(cancel_while_resolving) {
    // The cancellation is posted behind the start and libcurl's first timeout
    // action, which hands the name to the resolver thread. The thread's
    // answer (a failure) is read on a later turn, so the cancellation nearly
    // always finds the transfer resolving; if the reactor got to the answer
    // first, the real result is delivered. Either way: one call, and the
    // resolver's socketpair and thread go away on their own.
    int aborted = 0;
    for (int i = 0; i < 10; ++i) {
        probe p;
        asio::cancellation_signal cancel;
        async_fetch(eng, request("http://cancel-while-resolving.invalid/"),
                    asio::bind_cancellation_slot(cancel.slot(), probe_handler(p)));
        asio::post(io, [&] { asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); }); });
        BOOST_TEST(run_until(
            io, [&] { return p.calls == 1; }, std::chrono::seconds(10)));
        BOOST_TEST(
            (p.ec == asio::error::operation_aborted || p.ec == make_error_code(CURLE_COULDNT_RESOLVE_HOST)),
            p.ec.message());
        aborted += p.ec == asio::error::operation_aborted;
    }
    BOOST_TEST(aborted > 0);
    check_recovered();
}

// A listener that never accepts, its one-slot backlog already full: the
// kernel drops further SYNs, so a fetch's connect stays in progress.
class stuck_listener {
public:
    stuck_listener() {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        BOOST_TEST_REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        BOOST_TEST_REQUIRE(::listen(listener_, 0) == 0);
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        for (int i = 0; i < 4; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
            fillers_.push_back(fd);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ~stuck_listener() {
        for (int fd : fillers_)
            ::close(fd);
        ::close(listener_);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

private:
    int listener_ = -1;
    unsigned short port_ = 0;
    std::vector<int> fillers_;
};

BOOST_AUTO_TEST_CASE(cancel_while_connecting) {
    {
        stuck_listener peer;
        cancel_while_stuck(*this, peer.url());
    }
    check_recovered();
}

// libcurl before 8.2.0 closes a socket cancelled before it connected without
// calling the close callback (curl #11439), and says REMOVE only afterwards.
// Its number is free at once; a neighbour on the same io_context that gets
// it must keep its reactor registration whatever the engine does next, its
// shutdown included. (An engine waiting on libcurl's own number deregisters
// the neighbour's pipe there, and the neighbour never wakes up.)
BOOST_AUTO_TEST_CASE(a_socket_closed_behind_the_engines_back_costs_no_neighbour_its_wakeups) {
    std::vector<int> opened;
    engine_options options;
    options.open_socket = [&](curlsocktype, const curl_sockaddr& a) {
        const int fd = ::socket(a.family, a.socktype | SOCK_CLOEXEC, a.protocol);
        opened.push_back(fd);
        return fd;
    };
    std::optional<engine> other(std::in_place, io, options);
    std::optional<stuck_listener> peer(std::in_place); // its fds keep the lower numbers taken
    cancel_while_stuck(*this, peer->url(), &*other);
    BOOST_TEST_REQUIRE(opened.size() == 1u);

    // The neighbour's pipe takes libcurl's number, now free.
    int ends[2];
    BOOST_TEST_REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    int reused = ends[0];
    if (reused != opened[0]) {
        reused = ::fcntl(ends[0], F_DUPFD_CLOEXEC, opened[0]);
        ::close(ends[0]);
    }
    BOOST_TEST_REQUIRE(reused == opened[0]);
    {
        asio::posix::stream_descriptor neighbour(io, reused);
        bool woke = false;
        neighbour.async_wait(asio::posix::stream_descriptor::wait_read, [&](error_code ec) { woke = !ec; });
        other.reset(); // the engine shuts down: it lets go of everything it held
        run_until(
            io, [] { return false; }, std::chrono::milliseconds(100));
        BOOST_TEST(::write(ends[1], "x", 1) == 1);
        BOOST_TEST(run_until(
            io, [&] { return woke; }, std::chrono::seconds(5)));
    }
    ::close(ends[1]);
    peer.reset();
    check_recovered();
}

BOOST_AUTO_TEST_CASE(cancel_during_the_tls_handshake) {
    {
        // A TCP peer that accepts and never answers the ClientHello.
        asio::io_context peer_io;
        asio::ip::tcp::acceptor acceptor(peer_io, {asio::ip::make_address_v4("127.0.0.1"), 0});
        asio::ip::tcp::socket accepted(peer_io);
        acceptor.async_accept(accepted, [](error_code) {});
        std::thread peer([&] { peer_io.run(); });
        cancel_while_stuck(*this,
                           "https://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/");
        peer.join();
        BOOST_TEST(accepted.is_open()); // the handshake had begun
    }
    check_recovered();
}

// ---- user callbacks that throw -------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_throwing_body_consumer_fails_only_its_transfer) {
    request req(server.url("/bytes/100000"));
    req.on_body = [](std::string_view) { throw std::runtime_error("consumer says no"); };
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.ec == make_error_code(errc::callback_threw));
    BOOST_TEST(out.res.error_message.find("consumer says no") != std::string::npos);
    BOOST_TEST_REQUIRE(static_cast<bool>(out.res.callback_exception));
    BOOST_CHECK_THROW(std::rethrow_exception(out.res.callback_exception), std::runtime_error);
    check_recovered();
}

BOOST_AUTO_TEST_CASE(a_throwing_progress_callback_fails_only_its_transfer) {
    int calls = 0;
    request req(server.url("/slow-body/5/100"));
    req.on_progress = [&](const transfer_progress&) {
        if (++calls == 2)
            throw 42; // not even a std::exception
    };
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.ec == make_error_code(errc::callback_threw));
    BOOST_TEST(calls == 2);
    BOOST_TEST_REQUIRE(static_cast<bool>(out.res.callback_exception));
    BOOST_CHECK_THROW(std::rethrow_exception(out.res.callback_exception), int);
    check_recovered();
}

BOOST_AUTO_TEST_CASE(progress_and_body_callbacks_see_the_transfer) {
    std::uint64_t last_downloaded = 0, total = 0;
    std::string streamed;
    request req(server.url("/bytes/300000"));
    req.on_progress = [&](const transfer_progress& p) {
        BOOST_TEST(p.downloaded >= last_downloaded);
        last_downloaded = p.downloaded;
        total = p.download_total;
    };
    req.on_body = [&](std::string_view chunk) { streamed += chunk; };
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.body.empty());
    BOOST_TEST(streamed.size() == 300000u);
    BOOST_TEST(streamed.substr(0, 3) == "abc");
    BOOST_TEST(total == 300000u);
}

BOOST_AUTO_TEST_CASE(progress_is_rate_bounded_and_runs_on_the_handlers_executor) {
    // A handler of another io_context: progress is posted there, in order,
    // before the completion, and at most once per interval.
    asio::io_context other;
    int calls = 0, off_executor = 0;
    std::uint64_t last = 0;
    bool done = false, progress_after_done = false;
    request req(server.url("/slow-body/6/50"));
    req.options.progress_interval = std::chrono::milliseconds(120);
    req.on_progress = [&](const transfer_progress& p) {
        ++calls;
        off_executor += other.get_executor().running_in_this_thread() ? 0 : 1;
        progress_after_done = progress_after_done || done;
        BOOST_TEST(p.downloaded >= last);
        last = p.downloaded;
    };
    async_fetch(eng, std::move(req), asio::bind_executor(other, [&](error_code ec, response) {
                    BOOST_TEST(!ec);
                    done = true;
                }));
    for (int i = 0; i < 2000 && !done; ++i) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
        other.restart();
        other.poll();
    }
    BOOST_TEST_REQUIRE(done);
    BOOST_TEST(calls >= 1);
    // 6 chunks 50 ms apart, 120 ms apart at most: fewer calls than chunks,
    // the last one the total.
    BOOST_TEST(calls < 6);
    BOOST_TEST(last == 6 * 1024u);
    BOOST_TEST(off_executor == 0);
    BOOST_TEST(!progress_after_done);
}

BOOST_AUTO_TEST_CASE(a_throwing_option_setter_fails_before_sending) {
    const auto seen = server.requests_seen();
    request req(server.url("/hello"));
    req.options.curl_options.emplace_back([](CURL*) -> CURLcode { throw std::logic_error("bad setter"); });
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.ec == make_error_code(errc::callback_threw));
    BOOST_TEST(server.requests_seen() == seen);
}

// Asio's rule: an exception from a handler leaves io_context::run(). The
// engine's state is untouched, and run() can simply be called again.
BOOST_AUTO_TEST_CASE(a_throwing_completion_handler_leaves_run_and_the_engine_works) {
    int calls = 0;
    async_fetch(eng, request(server.url("/hello")), [&](error_code ec, response) {
        ++calls;
        BOOST_TEST(!ec);
        throw std::runtime_error("handler threw");
    });
    BOOST_CHECK_THROW(io.run_for(std::chrono::seconds(10)), std::runtime_error);
    BOOST_TEST(calls == 1);
    check_recovered(false);
}

// ---- secure defaults ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(redirects_are_bounded_by_default) {
    request loop(server.url("/redirect-loop"));
    loop.options.redirects.follow = true;
    BOOST_TEST(loop.options.redirects.max == 10);
    auto out = fetch_sync(io, eng, loop);
    BOOST_TEST(out.ec == make_error_code(CURLE_TOO_MANY_REDIRECTS));
    BOOST_TEST(out.res.redirect_count == 10);
}

BOOST_AUTO_TEST_CASE(credentials_are_not_forwarded_to_another_host) {
    curlasio::test::test_server other;
    auto via = [&](const std::string& target) {
        request req(server.url("/redirect-to?url=" + encode(target)));
        req.options.redirects.follow = true;
        req.add_header("Authorization", "Bearer secret-token");
        req.add_header("Cookie", "session=secret");
        req.add_header("X-Custom", "kept");
        return fetch_sync(io, eng, req);
    };
    // Same host and port: everything is forwarded (the test can tell).
    auto same = via(server.url("/echo"));
    BOOST_TEST(!same.ec);
    BOOST_TEST(same.res.headers.find("X-Echo-Authorization").value_or("") == "Bearer secret-token");
    BOOST_TEST(same.res.headers.find("X-Echo-Cookie").value_or("") == "session=secret");

    // Another port, then another host name: credentials stay behind.
    for (const std::string& target :
         {other.url("/echo"), "http://localhost:" + std::to_string(server.port()) + "/echo"}) {
        BOOST_TEST_CONTEXT("redirect to " << target) {
            auto out = via(target);
            BOOST_TEST(!out.ec);
            BOOST_TEST(out.res.status == 200);
            BOOST_TEST(out.res.headers.find("X-Echo-X-Custom").value_or("") == "kept");
            BOOST_TEST(!out.res.headers.contains("X-Echo-Authorization"));
            BOOST_TEST(!out.res.headers.contains("X-Echo-Cookie"));
        }
    }

    // Credentials libcurl builds itself (user:password) likewise.
    request basic(server.url("/redirect-to?url=" + encode(other.url("/echo"))));
    basic.options.redirects.follow = true;
    basic.set_option(CURLOPT_USERPWD, "user:password");
    auto out = fetch_sync(io, eng, basic);
    BOOST_TEST(!out.ec);
    BOOST_TEST(!out.res.headers.contains("X-Echo-Authorization"));
}

BOOST_AUTO_TEST_CASE(environment_proxies_are_ignored_unless_asked_for) {
    // A proxy that refuses connections: used, it fails the fetch. (no_proxy
    // is cleared for the test, in case the machine lists 127.0.0.1 in it.)
    std::vector<std::pair<std::string, std::string>> saved;
    for (const char* name : {"no_proxy", "NO_PROXY"})
        if (const char* v = std::getenv(name)) {
            saved.emplace_back(name, v);
            ::unsetenv(name);
        }
    ::setenv("http_proxy", "http://127.0.0.1:1", 1);
    auto ignored = fetch_sync(io, eng, request(server.url("/hello")));
    request opt_in(server.url("/hello"));
    opt_in.options.proxy = "";
    auto used = fetch_sync(io, eng, opt_in);
    ::unsetenv("http_proxy");
    for (const auto& [name, value] : saved)
        ::setenv(name.c_str(), value.c_str(), 1);
    BOOST_TEST(!ignored.ec);
    BOOST_TEST(used.ec == make_error_code(CURLE_COULDNT_CONNECT));
}

BOOST_AUTO_TEST_CASE(connections_older_than_the_lifetime_are_not_reused) {
    BOOST_TEST(request{}.options.connection.max_lifetime == std::chrono::seconds(300));
    BOOST_TEST(request{}.options.connect_timeout == std::chrono::seconds(30));
    auto twice = [&](std::chrono::seconds lifetime) {
        const auto before = server.connections_accepted();
        request req(server.url("/hello"));
        req.options.connection.max_lifetime = lifetime;
        BOOST_TEST(!fetch_sync(io, eng, req).ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(2100));
        BOOST_TEST(!fetch_sync(io, eng, req).ec);
        return server.connections_accepted() - before;
    };
    BOOST_TEST(twice(std::chrono::seconds(0)) == 1u); // no limit: reused
    // (libcurl counts whole seconds and closes when the age exceeds the limit.)
    BOOST_TEST(twice(std::chrono::seconds(1)) == 2u);
}

// ---- the stall watchdog --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(watchdog_recovers_a_lost_wakeup) {
    engine_options opts;
    opts.watchdog_interval = std::chrono::milliseconds(100);
    engine watched(io, opts);
    probe p;
    async_fetch(watched, request(server.url("/delay/300")), probe_handler(p));
    asio::steady_timer t(io, std::chrono::milliseconds(50));
    t.async_wait([&](error_code) { curlasio::test::internals(watched).debug_lose_wakeups(); });
    BOOST_TEST(run_until(
        io, [&] { return p.calls == 1; }, std::chrono::seconds(10)));
    BOOST_TEST(!p.ec);
    BOOST_TEST(p.res.body == "delayed");
    BOOST_TEST(watched.stats().stalls_kicked >= 1u);
}

BOOST_AUTO_TEST_CASE(without_the_watchdog_a_lost_wakeup_hangs) {
    // The counterpart of the test above: the stall it repairs is real.
    engine_options opts;
    opts.watchdog_interval = std::chrono::milliseconds(0);
    engine unwatched(io, opts);
    probe p;
    asio::cancellation_signal cancel;
    async_fetch(unwatched, request(server.url("/delay/300")),
                asio::bind_cancellation_slot(cancel.slot(), probe_handler(p)));
    asio::steady_timer lose(io, std::chrono::milliseconds(50));
    lose.async_wait([&](error_code) { curlasio::test::internals(unwatched).debug_lose_wakeups(); });
    asio::steady_timer give_up(io, std::chrono::milliseconds(1500));
    give_up.async_wait([&](error_code) { cancel.emit(asio::cancellation_type::terminal); });
    BOOST_TEST(run_until(
        io, [&] { return p.calls == 1; }, std::chrono::seconds(10)));
    BOOST_TEST(p.ec == asio::error::operation_aborted);
    BOOST_TEST(unwatched.stats().stalls_kicked == 0u);
}

BOOST_AUTO_TEST_CASE(watchdog_suspends_a_socket_that_fires_for_nothing) {
    engine_options opts;
    opts.watchdog_interval = std::chrono::milliseconds(100);
    opts.busy_wakeup_limit = 1000;
    engine watched(io, opts);
    int pipe_fds[2];
    BOOST_TEST_REQUIRE(::pipe(pipe_fds) == 0);
    BOOST_TEST_REQUIRE(::write(pipe_fds[1], "x", 1) == 1); // readable for ever: nobody reads

    probe p;
    async_fetch(watched, request(server.url("/delay/600")), probe_handler(p));
    asio::post(io, [&] { curlasio::test::internals(watched).debug_watch(pipe_fds[0], CURL_POLL_IN); });
    BOOST_TEST(run_until(
        io, [&] { return p.calls == 1; }, std::chrono::seconds(10)));
    asio::post(io, [&] { curlasio::test::internals(watched).debug_watch(pipe_fds[0], CURL_POLL_REMOVE); });
    io.restart();
    io.poll();
    BOOST_TEST(!p.ec);
    BOOST_TEST(p.res.body == "delayed");
    // Suspended about once per 100 ms tick over the 600 ms delay.
    BOOST_TEST(watched.stats().busy_sockets_suspended >= 2u);
    BOOST_TEST(watched.stats().stalls_kicked == 0u);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

BOOST_AUTO_TEST_SUITE_END()
