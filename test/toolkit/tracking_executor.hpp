#ifndef CURLASIO_TEST_TOOLKIT_TRACKING_EXECUTOR_HPP
#define CURLASIO_TEST_TOOLKIT_TRACKING_EXECUTOR_HPP

// An io_context executor that counts what is submitted through it and marks
// the work it runs, so that a test can see a completion was posted without
// running it, that a handler runs through its associated executor, and that
// it does not run inside the initiating call.

#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <utility>

namespace curlasio::test {

class tracking_executor {
    using inner_type = decltype(boost::asio::require(std::declval<boost::asio::io_context::executor_type>(),
                                                     boost::asio::execution::blocking.never));

public:
    explicit tracking_executor(boost::asio::io_context& io) : tracking_executor(io.get_executor()) {}
    explicit tracking_executor(boost::asio::io_context::executor_type ex)
        : inner_(boost::asio::require(ex, boost::asio::execution::blocking.never)),
          submitted_(std::make_shared<std::atomic<int>>(0)) {}

    /// Work submitted through this executor and its copies; the work need
    /// not have run yet.
    int submitted() const noexcept { return submitted_->load(); }

    /// Whether the calling thread is running work submitted through a
    /// tracking_executor.
    static bool running_inside() noexcept { return running_depth_ > 0; }

    /// Calls `f` (an initiating call) marked, so that a handler can tell it
    /// runs inside it.
    template <typename F>
    static void initiate(F&& f) {
        ++initiating_depth_;
        struct unmark {
            ~unmark() { --initiating_depth_; }
        } at_exit;
        std::forward<F>(f)();
    }
    static bool inside_initiating_call() noexcept { return initiating_depth_ > 0; }

    boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept {
        return boost::asio::query(inner_, boost::asio::execution::context);
    }
    static constexpr boost::asio::execution::blocking_t query(boost::asio::execution::blocking_t) noexcept {
        return boost::asio::execution::blocking.never;
    }
    tracking_executor require(boost::asio::execution::blocking_t::never_t) const noexcept { return *this; }

    template <typename F>
    void execute(F f) const {
        submitted_->fetch_add(1);
        inner_.execute([f = std::move(f)]() mutable {
            ++running_depth_;
            struct unmark {
                ~unmark() { --running_depth_; }
            } at_exit;
            f();
        });
    }

    friend bool operator==(const tracking_executor& a, const tracking_executor& b) noexcept {
        return a.inner_ == b.inner_ && a.submitted_ == b.submitted_;
    }
    friend bool operator!=(const tracking_executor& a, const tracking_executor& b) noexcept {
        return !(a == b);
    }

private:
    inner_type inner_;
    std::shared_ptr<std::atomic<int>> submitted_;
    static inline thread_local int running_depth_ = 0;
    static inline thread_local int initiating_depth_ = 0;
};
static_assert(boost::asio::execution::is_executor<tracking_executor>::value);

} // namespace curlasio::test

#endif
