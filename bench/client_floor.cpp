// Baselines doing curlasio's per-request libcurl work (same_work.hpp):
//  - floor: the loop one would write by hand, curl_multi_socket_action on one
//    epoll set, libcurl's timer as epoll_wait's timeout, easy handles kept and
//    reset (as the engine's handle pool does) and re-added. The floor under
//    "the engine's own cost".
//  - curl_multi_same_work: client_curl.cpp's curl_multi_perform + poll loop,
//    a fresh handle per transfer, with that same per-request work.

#include "bench.hpp"
#include "same_work.hpp"

#include <curl/curl.h>

#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

namespace bench {
namespace {

void set_multi_options(CURLM* m, const client_options& o) {
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, o.connections);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, o.connections);
    curl_multi_setopt(m, CURLMOPT_PIPELINING, long(CURLPIPE_MULTIPLEX));
    curl_multi_setopt(m, CURLMOPT_MAX_CONCURRENT_STREAMS, 100L);
}

class floor_loop {
public:
    explicit floor_loop(const client_options& o) : o_(o), start_(std::chrono::steady_clock::now()) {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0)
            throw std::runtime_error("epoll_create1 failed");
        m_ = curl_multi_init();
        set_multi_options(m_, o);
        curl_multi_setopt(m_, CURLMOPT_SOCKETFUNCTION, &floor_loop::on_socket);
        curl_multi_setopt(m_, CURLMOPT_SOCKETDATA, this);
        curl_multi_setopt(m_, CURLMOPT_TIMERFUNCTION, &floor_loop::on_timer);
        curl_multi_setopt(m_, CURLMOPT_TIMERDATA, this);
    }
    ~floor_loop() {
        curl_multi_cleanup(m_);
        for (auto& t : transfers_)
            if (t->handle())
                curl_easy_cleanup(t->handle());
        close(ep_);
    }

    client_result run() {
        for (long i = 0; i < o_.concurrency; ++i) {
            transfers_.push_back(std::make_unique<same_work_transfer>(o_));
            CURL* h = curl_easy_init();
            if (!start(*transfers_.back(), h))
                curl_easy_cleanup(h);
        }
        std::vector<epoll_event> events(256);
        int running = 0;
        while (result_.completed < started_) {
            int wait_ms = -1;
            if (timer_armed_) {
                const auto left = deadline_ - std::chrono::steady_clock::now();
                wait_ms = static_cast<int>(
                    std::max<long>(0, std::chrono::ceil<std::chrono::milliseconds>(left).count()));
            }
            if (wait_ms == 0) {
                timer_armed_ = false;
                curl_multi_socket_action(m_, CURL_SOCKET_TIMEOUT, 0, &running);
            } else {
                const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()),
                                         wait_ms < 0 ? 1000 : wait_ms);
                for (int i = 0; i < n; ++i) {
                    const std::uint32_t e = events[i].events;
                    int mask = 0;
                    if (e & (EPOLLIN | EPOLLHUP))
                        mask |= CURL_CSELECT_IN;
                    if (e & EPOLLOUT)
                        mask |= CURL_CSELECT_OUT;
                    if (e & EPOLLERR)
                        mask |= CURL_CSELECT_ERR;
                    curl_multi_socket_action(m_, events[i].data.fd, mask, &running);
                }
            }
            drain();
        }
        result_.connects = 0;
        for (auto& t : transfers_)
            result_.connects += t->connects();
        return result_;
    }

private:
    // False when no transfer is left to start (the handle stays unused).
    bool start(same_work_transfer& t, CURL* h) {
        if (started_ >= o_.requests || out_of_time(start_, o_.max_seconds))
            return false;
        ++started_;
        if (t.prepare(h) != CURLE_OK || curl_multi_add_handle(m_, h) != CURLM_OK)
            throw std::runtime_error("could not start a transfer");
        return true;
    }

    void drain() {
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(m_, &left)) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL* h = msg->easy_handle;
            const CURLcode rc = msg->data.result;
            same_work_transfer* t = nullptr;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, &t);
            curl_multi_remove_handle(m_, h);
            t->finish(rc, result_);
            curl_easy_reset(h);
            start(*t, h);
        }
    }

    static int on_socket(CURL*, curl_socket_t s, int what, void* p, void* socketp) {
        auto* self = static_cast<floor_loop*>(p);
        if (what == CURL_POLL_REMOVE) {
            if (socketp) {
                epoll_ctl(self->ep_, EPOLL_CTL_DEL, s, nullptr);
                curl_multi_assign(self->m_, s, nullptr);
            }
            return 0;
        }
        epoll_event ev{};
        ev.data.fd = s;
        ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
        if (socketp) {
            epoll_ctl(self->ep_, EPOLL_CTL_MOD, s, &ev);
        } else {
            epoll_ctl(self->ep_, EPOLL_CTL_ADD, s, &ev);
            curl_multi_assign(self->m_, s, self);
        }
        return 0;
    }

    static int on_timer(CURLM*, long timeout_ms, void* p) {
        auto* self = static_cast<floor_loop*>(p);
        self->timer_armed_ = timeout_ms >= 0;
        if (timeout_ms >= 0)
            self->deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        return 0;
    }

    const client_options& o_;
    std::chrono::steady_clock::time_point start_;
    int ep_ = -1;
    CURLM* m_ = nullptr;
    bool timer_armed_ = false;
    std::chrono::steady_clock::time_point deadline_;
    std::vector<std::unique_ptr<same_work_transfer>> transfers_;
    long started_ = 0;
    client_result result_;
};

} // namespace

client_result run_floor(const client_options& o) { return floor_loop(o).run(); }

client_result run_curl_multi_same_work(const client_options& o) {
    CURLM* m = curl_multi_init();
    set_multi_options(m, o);

    client_result result;
    result.connects = 0;
    const auto start = std::chrono::steady_clock::now();
    long started = 0;
    auto add_one = [&] {
        if (started >= o.requests || out_of_time(start, o.max_seconds))
            return;
        ++started;
        auto t = std::make_unique<same_work_transfer>(o);
        CURL* h = curl_easy_init();
        if (t->prepare(h) != CURLE_OK || curl_multi_add_handle(m, h) != CURLM_OK)
            throw std::runtime_error("could not start a transfer");
        t.release();
    };
    for (long i = 0; i < o.concurrency; ++i)
        add_one();

    int running = 0;
    while (result.completed < started) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            same_work_transfer* raw = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
            std::unique_ptr<same_work_transfer> t(raw);
            const CURLcode rc = msg->data.result;
            curl_multi_remove_handle(m, t->handle());
            t->finish(rc, result);
            result.connects += t->connects();
            curl_easy_cleanup(t->handle());
            add_one();
        }
        if (result.completed < started)
            curl_multi_poll(m, nullptr, 0, 1000, nullptr);
    }
    curl_multi_cleanup(m);
    return result;
}

} // namespace bench
