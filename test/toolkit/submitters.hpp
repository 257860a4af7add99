#ifndef CURLASIO_TEST_TOOLKIT_SUBMITTERS_HPP
#define CURLASIO_TEST_TOOLKIT_SUBMITTERS_HPP

// Threads that start operations with a bounded number of their own
// outstanding, for the threading tests.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <semaphore>
#include <thread>
#include <vector>

namespace curlasio::test {

// `threads` submitting threads, each with MaxInFlight places. Own it where
// its places outlive every handler: a handler may still be inside release()
// when its submitter has seen the place come back and left.
template <std::ptrdiff_t MaxInFlight>
class submitters {
public:
    using slot_type = std::counting_semaphore<MaxInFlight>;

    explicit submitters(int threads) {
        for (int k = 0; k < threads; ++k)
            slots_.push_back(std::make_unique<slot_type>(MaxInFlight));
    }

    // Thread k calls start(k, i, slot) for i in [0, per_thread), each after
    // taking one of its places; the operation's handler must call
    // slot.release() once, as the last thing it does. Then the thread waits
    // for all its places. Returns how many threads gave up at `deadline`.
    template <typename Start>
    int run(int per_thread, std::chrono::steady_clock::time_point deadline, Start start) {
        std::atomic<int> stuck{0};
        std::vector<std::thread> running;
        for (int k = 0; k < static_cast<int>(slots_.size()); ++k)
            running.emplace_back([&, k] {
                slot_type& slot = *slots_[static_cast<std::size_t>(k)];
                for (int i = 0; i < per_thread; ++i) {
                    if (!slot.try_acquire_until(deadline)) {
                        ++stuck;
                        return;
                    }
                    start(k, i, slot);
                }
                for (std::ptrdiff_t i = 0; i < MaxInFlight; ++i)
                    if (!slot.try_acquire_until(deadline)) {
                        ++stuck;
                        return;
                    }
            });
        for (auto& t : running)
            t.join();
        return stuck.load();
    }

private:
    std::vector<std::unique_ptr<slot_type>> slots_;
};

} // namespace curlasio::test

#endif
