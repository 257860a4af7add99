// libFuzzer target: random event sequences against the sans-io socket table.
//
// The input is decoded into CURLMOPT_SOCKETFUNCTION calls, open/close socket
// callbacks, wait completions (live, raced or stale) and re-arms over a small
// fd range, so numbers collide and get reused. Beside the table runs a model
// of what an engine executing its decisions would hold: which fds it holds a
// duplicate of, which waits are in flight with which generation, which fds
// came from our open callback. Every decision is checked
// against that model; so are the observers of the fd a step touched, and
// every few steps those of all fds. A violation prints the rule and traps.

#include "detail/socket_table.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

using curlasio::detail::socket_decision;
using curlasio::detail::socket_table;
using curlasio::detail::wait_kind;
using curlasio::detail::wait_outcome;

constexpr int fd_count = 16;

// Prints the broken rule before the trap, so a crash report says which.
[[noreturn]] void fail(const char* what, int step, int fd) {
    std::fprintf(stderr, "socket_table_fuzz: invariant violated at step %d, fd %d: %s\n", step, fd, what);
    __builtin_trap();
}

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            fail(#cond, step_, cur_fd_);                                                                     \
    } while (0)

struct model_entry {
    std::uint64_t gen = 0;           // 0: not watched
    int wanted = 0;                  // CURL_POLL_IN | CURL_POLL_OUT bits
    bool failed[2] = {false, false}; // a reported failure stops that direction
    bool armed[2] = {false, false};  // a wait of this generation is in flight
    bool foreign = false;
};

// A wait the engine has in flight: it completes exactly once, later.
struct wait {
    int fd;
    int kind; // 0 read, 1 write
    std::uint64_t gen;
};

constexpr int poll_bit(int kind) { return kind == 0 ? CURL_POLL_IN : CURL_POLL_OUT; }
constexpr wait_kind to_kind(int kind) { return kind == 0 ? wait_kind::read : wait_kind::write; }

class harness {
public:
    explicit harness(FuzzedDataProvider& in) : in_(in) {}

    void run() {
        while (in_.remaining_bytes() > 0 && step_ < 4096) {
            step();
            check_step();
        }
        // Let everything in flight complete, as an engine shutting down would.
        while (!outstanding_.empty()) {
            complete(outstanding_.size() - 1, true, false);
            check_step();
        }
        check_all();
    }

private:
    bool in_flight(int fd, int kind, std::uint64_t gen) const {
        return std::any_of(outstanding_.begin(), outstanding_.end(),
                           [&](const wait& w) { return w.fd == fd && w.kind == kind && w.gen == gen; });
    }
    // A wait of the live generation is in flight. Kept alongside
    // outstanding_ (and cross-checked with it) so the per-step sweep is cheap.
    bool model_armed(int fd, int kind) const { return m_[fd].gen != 0 && m_[fd].armed[kind]; }

    void step() {
        // -1 now and then: the table must ignore it.
        cur_fd_ = in_.ConsumeIntegralInRange<int>(-1, fd_count - 1);
        switch (in_.ConsumeIntegralInRange<int>(0, 6)) {
        case 0:
        case 1: {
            static constexpr int whats[] = {CURL_POLL_NONE, CURL_POLL_IN, CURL_POLL_OUT, CURL_POLL_INOUT,
                                            CURL_POLL_REMOVE};
            poll(whats[in_.ConsumeIntegralInRange<int>(0, 4)]);
            break;
        }
        case 2:
        case 3:
            if (!outstanding_.empty()) {
                const std::size_t i = in_.ConsumeIntegralInRange<std::size_t>(0, outstanding_.size() - 1);
                const bool aborted = in_.ConsumeBool();
                complete(i, aborted, !aborted && in_.ConsumeBool());
            } else {
                stray();
            }
            break;
        case 4:
            stray();
            break;
        case 5:
            rearm();
            break;
        default:
            if (in_.ConsumeBool())
                open();
            else
                close();
            break;
        }
    }

    // Executes the descriptor part of a decision the way the engine does:
    // cancel and release first, then open, then the arms.
    void execute(const socket_decision& d, int fd) {
        if (d.release) {
            CHECK(held_[fd]);
            held_[fd] = false;
        }
        if (d.open) {
            // Opening over a held duplicate would leak it.
            CHECK(!held_[fd]);
            held_[fd] = true;
        }
        for (int k = 0; k < 2; ++k) {
            if (!(k == 0 ? d.arm_read : d.arm_write))
                continue;
            CHECK(held_[fd]); // nothing to wait on: the transfer stalls
            CHECK(m_[fd].gen != 0);
            CHECK(d.generation == m_[fd].gen);
            CHECK(m_[fd].wanted & poll_bit(k));
            CHECK(!m_[fd].armed[k]);
            CHECK(!in_flight(fd, k, d.generation)); // never two waits for one direction
            outstanding_.push_back({fd, k, d.generation});
            m_[fd].armed[k] = true;
        }
    }

    // The arms a decision must carry: every wanted, unfailed direction that
    // has no wait in flight. Fewer stalls the transfer, more doubles a wait.
    void check_arms(const socket_decision& d, int fd) {
        const model_entry& e = m_[fd];
        for (int k = 0; k < 2; ++k) {
            const bool expect = e.gen != 0 && (e.wanted & poll_bit(k)) && !e.failed[k] && !model_armed(fd, k);
            CHECK((k == 0 ? d.arm_read : d.arm_write) == expect);
        }
    }

    void poll(int what) {
        const int fd = cur_fd_;
        const socket_decision d = t_.on_poll(fd, what);
        if (fd < 0) {
            CHECK(!d.any());
            return;
        }
        if (what == CURL_POLL_REMOVE) {
            CHECK(!d.open && !d.arm_read && !d.arm_write);
            if (m_[fd].gen == 0) {
                CHECK(!d.any()); // nothing watched: nothing to do
                return;
            }
            CHECK(d.generation == m_[fd].gen);
            if (m_[fd].foreign) {
                CHECK(d.release); // we will not hear of its close: let go now
            } else {
                // Ours: cancel the waits, keep the descriptor for a reuse.
                CHECK(d.cancel && !d.release);
            }
            m_[fd] = model_entry{};
            execute(d, fd);
            return;
        }
        CHECK(!d.release && !d.cancel);
        if (m_[fd].gen == 0) {
            // A new entry: a generation never seen before.
            CHECK(d.generation > last_gen_);
            last_gen_ = d.generation;
            CHECK(d.open == !held_[fd]);
            m_[fd] = model_entry{};
            m_[fd].gen = d.generation;
            m_[fd].foreign = !ours_[fd];
        } else {
            CHECK(!d.open);
        }
        m_[fd].wanted = what & (CURL_POLL_IN | CURL_POLL_OUT);
        check_arms(d, fd);
        execute(d, fd);
    }

    // on_open / on_close: whatever is held for the number is released.
    void drop_checks(const socket_decision& d, int fd) {
        CHECK(!d.cancel && !d.open && !d.arm_read && !d.arm_write);
        CHECK(d.release == held_[fd]);
        if (d.release)
            CHECK(d.generation == m_[fd].gen);
        m_[fd] = model_entry{}; // its waits stay in flight, to complete stale
        execute(d, fd);
    }

    void open() {
        const int fd = cur_fd_;
        const socket_decision d = t_.on_open(fd);
        if (fd < 0) {
            CHECK(!d.any());
            return;
        }
        drop_checks(d, fd);
        ours_[fd] = true;
    }

    void close() {
        const int fd = cur_fd_;
        const socket_decision d = t_.on_close(fd);
        if (fd < 0) {
            CHECK(!d.any());
            return;
        }
        drop_checks(d, fd);
        ours_[fd] = false;
    }

    void rearm() {
        const int fd = cur_fd_;
        const socket_decision d = t_.rearm(fd);
        CHECK(!d.cancel && !d.release && !d.open);
        if (fd < 0) {
            CHECK(!d.any());
            return;
        }
        check_arms(d, fd);
        execute(d, fd);
    }

    // A wait in flight completes: cancelled, ready (perhaps racing a cancel
    // or release), or with an error.
    void complete(std::size_t i, bool aborted, bool failed) {
        const wait w = outstanding_[i];
        outstanding_[i] = outstanding_.back();
        outstanding_.pop_back();
        cur_fd_ = w.fd;
        const wait_outcome o = t_.on_wait_done(w.fd, to_kind(w.kind), w.gen, aborted, failed);
        model_entry& e = m_[w.fd];
        if (e.gen == w.gen) {
            CHECK(e.armed[w.kind]);
            e.armed[w.kind] = false;
        }
        if (e.gen != w.gen || aborted || !(e.wanted & poll_bit(w.kind))) {
            // Stale, cancelled, or for a direction libcurl no longer wants:
            // nothing to tell libcurl, and no failure to remember.
            CHECK(!o.act);
            CHECK(o.events == 0);
            return;
        }
        CHECK(o.act);
        const int base = w.kind == 0 ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
        CHECK(o.events == (base | (failed ? CURL_CSELECT_ERR : 0)));
        if (failed)
            e.failed[w.kind] = true;
    }

    // A completion that matches no live entry: an old generation, one of
    // another fd, zero, or one never issued. It must be dropped.
    void stray() {
        const int fd = cur_fd_;
        std::uint64_t g = 0;
        switch (in_.ConsumeIntegralInRange<int>(0, 2)) {
        case 0:
            g = in_.ConsumeIntegralInRange<std::uint64_t>(0, last_gen_);
            break;
        case 1:
            g = last_gen_ + 1 + in_.ConsumeIntegral<std::uint8_t>();
            break;
        default:
            g = ~std::uint64_t{0};
            break;
        }
        if (fd >= 0 && g == m_[fd].gen)
            return; // that would be a live completion of a wait never armed
        const int kind = in_.ConsumeBool() ? 1 : 0;
        const bool aborted = in_.ConsumeBool();
        const bool failed = in_.ConsumeBool();
        const wait_outcome o = t_.on_wait_done(fd, to_kind(kind), g, aborted, failed);
        CHECK(!o.act);
        CHECK(o.events == 0);
    }

    // After every step: the fd it touched and the table's size; every few
    // steps, every fd and the fd lists (a full sweep per step, with its
    // allocations, would cost most of the fuzzer's time).
    void check_step() {
        if (step_ % 8 == 0) {
            check_all();
        } else {
            if (cur_fd_ >= 0)
                check_fd(cur_fd_);
            check_size();
        }
        ++step_;
    }

    __attribute__((no_sanitize("coverage"))) void check_size() {
        std::size_t watched = 0;
        for (const model_entry& e : m_)
            watched += e.gen != 0;
        CHECK(t_.size() == watched);
    }

    // Not coverage-instrumented: it only reads.
    __attribute__((no_sanitize("coverage"))) void check_all() {
        std::vector<int> watched, held;
        for (int fd = 0; fd < fd_count; ++fd) {
            check_fd(fd);
            if (m_[fd].gen)
                watched.push_back(fd);
            if (held_[fd])
                held.push_back(fd);
        }
        cur_fd_ = -1;
        CHECK(!t_.watched(-1) && !t_.held(-1) && !t_.opened_by_us(-1));
        CHECK(t_.size() == watched.size());
        const std::vector<int> tw = t_.watched_fds(), th = t_.held_fds();
        CHECK(tw == watched);
        CHECK(th == held);
        CHECK(std::includes(th.begin(), th.end(), tw.begin(), tw.end()));
    }

    __attribute__((no_sanitize("coverage"))) void check_fd(int fd) {
        cur_fd_ = fd;
        const model_entry& e = m_[fd];
        CHECK(t_.watched(fd) == (e.gen != 0));
        CHECK(t_.generation(fd) == e.gen);
        CHECK(t_.wanted(fd) == e.wanted);
        CHECK(t_.opened_by_us(fd) == ours_[fd]);
        CHECK(t_.held(fd) == held_[fd]);
        CHECK(!e.gen || t_.held(fd)); // watched implies a descriptor to wait on
        for (int k = 0; k < 2; ++k) {
            CHECK(t_.armed(fd, to_kind(k)) == model_armed(fd, k));
            CHECK(!t_.armed(fd, to_kind(k)) || t_.watched(fd));
        }
    }

    FuzzedDataProvider& in_;
    socket_table t_;
    std::array<model_entry, fd_count> m_{};
    std::array<bool, fd_count> held_{};
    std::array<bool, fd_count> ours_{};
    std::vector<wait> outstanding_; // also waits of removed or released entries
    std::uint64_t last_gen_ = 0;
    int step_ = 0;
    int cur_fd_ = -1;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    harness(in).run();
    return 0;
}
