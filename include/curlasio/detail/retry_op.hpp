#ifndef CURLASIO_DETAIL_RETRY_OP_HPP
#define CURLASIO_DETAIL_RETRY_OP_HPP

// async_fetch with request_options::retry: a composed operation that runs
// one transfer per attempt through the same machinery as a plain fetch
// (start_fetch), asks decide_retry what next, and waits between attempts on
// a steady_timer on the engine's executor. Its steps run on the handler's
// associated executor; it completes once, from a step, never inline.

#include <curlasio/detail/engine_access.hpp>
#include <curlasio/detail/fetch_op.hpp>
#include <curlasio/detail/retry_decision.hpp>
#include <curlasio/error.hpp>
#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

namespace curlasio::detail {

/// Uniform in [0, 1), for the jitter; one generator per thread.
inline double retry_random() {
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

struct retry_state {
    retry_state(std::weak_ptr<engine_impl> e, const engine::executor_type& ex, request r)
        : engine(std::move(e)), executor(ex), req(std::move(r)), timer(ex),
          started(std::chrono::steady_clock::now()) {}

    std::weak_ptr<engine_impl> engine;
    engine::executor_type executor;
    request req; // every attempt sends a copy
    boost::asio::steady_timer timer;
    std::chrono::steady_clock::time_point started;
    std::vector<attempt_outcome> history; // the attempts before `last`
    error_code last_ec;
    response last;       // the latest attempt's, kept through the wait
    bool waited = false; // `last` is set: a wait followed it
};

class retry_op {
public:
    retry_op(std::shared_ptr<retry_state> st) noexcept : state_(std::move(st)) {}

    // Start.
    template <typename Self>
    void operator()(Self& self) {
        // Let every type through to the attempt (which decides, as a plain
        // fetch does) and to the wait (where all three stop it exactly).
        self.reset_cancellation_state(boost::asio::enable_total_cancellation());
        start_attempt(self);
    }

    // An attempt ended.
    template <typename Self>
    void operator()(Self& self, error_code ec, response r) {
        retry_state& st = *state_;
        const retry_options& policy = st.req.options.retry;
        const bool cancelled = self.cancelled() != boost::asio::cancellation_type::none;
        retry_input in;
        in.attempts_made = static_cast<unsigned>(st.history.size()) + 1;
        in.elapsed = elapsed();
        in.ec = ec;
        in.status = r.status;
        in.retry_after = r.headers.find("Retry-After");
        in.method = st.req.method;
        in.streaming = static_cast<bool>(st.req.upload) || static_cast<bool>(st.req.on_body);
        in.cancelled = cancelled;
        in.now = std::chrono::system_clock::now();
        in.random = retry_random();
        retry_decision d;
        try {
            if (policy.should_retry && !cancelled)
                in.predicate = policy.should_retry(ec, r);
            d = decide_retry(policy, in);
            if (d.retry && policy.on_retry)
                policy.on_retry(retry_event{in.attempts_made, ec, r.status, d.delay});
        } catch (...) {
            // A hook threw: nothing unwinds into the executor, the handler still runs once.
            r.callback_exception = std::current_exception();
            r.error_message = "a retry hook threw";
            return finish(self, make_error_code(errc::callback_threw), std::move(r));
        }
        if (!d.retry)
            return finish(self, ec, std::move(r));
        st.timer.expires_after(d.delay);
        st.last_ec = ec;
        st.last = std::move(r);
        st.waited = true;
        st.timer.async_wait(std::move(self));
    }

    // The wait before the next attempt ended.
    template <typename Self>
    void operator()(Self& self, error_code ec) {
        retry_state& st = *state_;
        if (ec || self.cancelled() != boost::asio::cancellation_type::none) {
            response r = std::move(st.last);
            r.error_message = "cancelled while waiting to retry";
            return finish(self, boost::asio::error::operation_aborted, std::move(r));
        }
        start_attempt(self);
    }

private:
    std::chrono::milliseconds elapsed() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                     state_->started);
    }

    template <typename Self>
    void start_attempt(Self& self) {
        retry_state& st = *state_;
        auto engine = st.engine.lock();
        if (!engine) { // destroyed during the wait
            response r = std::move(st.last);
            r.error_message = "the engine was destroyed while waiting to retry";
            return finish(self, boost::asio::error::operation_aborted, std::move(r));
        }
        if (st.waited) { // the latest attempt becomes an earlier one
            st.history.push_back({st.last_ec, st.last.status});
            st.last = response{};
            st.waited = false;
        }
        request attempt = st.req;
        const auto budget = attempt.options.retry.budget;
        if (budget.count() > 0) {
            const auto left = std::max(budget - elapsed(), std::chrono::milliseconds(1));
            auto& t = attempt.options.timeout;
            if (t.count() == 0 || t > left)
                t = left;
        }
        start_fetch(engine, st.executor, std::move(self), std::move(attempt), nullptr);
    }

    template <typename Self>
    void finish(Self& self, error_code ec, response r) {
        r.attempts = static_cast<unsigned>(state_->history.size()) + 1;
        r.earlier_attempts = std::move(state_->history);
        state_.reset(); // freed before the upcall, as a plain fetch's state is
        self.complete(ec, std::move(r));
    }

    std::shared_ptr<retry_state> state_;
};

/// Starts a fetch with retries (req.options.retry.max_attempts > 1).
template <typename Handler>
void start_retrying(const std::shared_ptr<engine_impl>& engine, const engine::executor_type& ex,
                    Handler&& handler, request req) {
    using alloc_type = boost::asio::associated_allocator_t<std::decay_t<Handler>, default_op_allocator>;
    alloc_type alloc = boost::asio::get_associated_allocator(handler, default_op_allocator());
    auto st = std::allocate_shared<retry_state>(alloc, engine, ex, std::move(req));
    // Named as a non-reference type, the handler is moved into the operation.
    std::decay_t<Handler> h(std::forward<Handler>(handler));
    boost::asio::async_compose<std::decay_t<Handler>, void(error_code, response)>(retry_op(std::move(st)), h,
                                                                                  ex);
}

} // namespace curlasio::detail

#endif
