#ifndef CURLASIO_SRC_DETAIL_POOL_PLACEMENT_HPP
#define CURLASIO_SRC_DETAIL_POOL_PLACEMENT_HPP

// Which engine of a pool runs the next fetch: a sans-io decision over
// counters, unit tested without sockets (test/unit/pool_placement_test.cpp).
//
// The rule, for a fetch to origin O (scheme://host:port), started on a
// thread that runs the engines of group H (engines sharing one io_context
// form a group; H is none when the thread runs none of the pool's):
//   1. Among the engines holding a credit for O (a transfer to O ended there
//      successfully, so a connection to O is probably idle in that engine's
//      cache, and no fetch placed since took it) and having spare load, one
//      of group H if there is one, then the least loaded; its credit is
//      consumed. Staying on the calling thread saves the cross-thread post
//      and wake-up of the start, and of the completion after it.
//   2. Otherwise the least loaded engine (on a tie group H's, then the
//      lowest index).
// Spare load: at most min_load + 1 + min_load / 4 in flight, where min_load
// is the least loaded engine's count; so reuse never unbalances the pool by
// more than a quarter. Credits are kept per engine in a small table indexed
// by the origin's hash (two origins may share a slot: that costs a guess,
// never correctness); a credit may be stale (libcurl or the server closed
// the connection meanwhile), which costs what rule 2 would have: a connect.
//
// Thread safety: every member may be called from any thread at once; the
// counters are atomics, and a race costs at most a less good choice.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace curlasio::detail {

/// The origin of `url`, hashed: scheme, host and port, case-insensitive,
/// with the scheme's default port filled in and user info left out.
std::uint64_t origin_key(std::string_view url) noexcept;

class pool_placement {
public:
    /// Credit slots per engine.
    static constexpr std::size_t slots = 64;

    /// Where a fetch was placed, to hand back to finished().
    struct ticket {
        std::uint32_t engine = 0;
        std::uint32_t slot = 0;
    };

    /// No group: every engine on one executor, or locality not wanted.
    static constexpr std::uint32_t no_group = 0xffffffffu;

    /// `engines` engines, all of one group.
    explicit pool_placement(std::size_t engines);
    /// One engine per entry, each in the group given (an io_context's index).
    explicit pool_placement(const std::vector<std::uint32_t>& group_of_engine);

    std::size_t engines() const noexcept { return count_; }

    /// Picks the engine for a fetch to `origin` (origin_key), started on a
    /// thread running group `here` (or no_group), and counts the fetch in
    /// flight there.
    ticket place(std::uint64_t origin, std::uint32_t here = no_group) noexcept;
    /// The group of `engine`, and how many groups there are.
    std::uint32_t group(std::size_t engine) const noexcept;
    std::uint32_t groups() const noexcept { return groups_; }
    /// The fetch of `t` ended; `connection_kept`: it succeeded, so its
    /// connection is probably idle now.
    void finished(ticket t, bool connection_kept) noexcept;

    /// Fetches placed on `engine` and not finished.
    std::size_t in_flight(std::size_t engine) const noexcept;
    /// Credits `engine` holds for `origin`'s slot.
    std::size_t credits(std::size_t engine, std::uint64_t origin) const noexcept;

private:
    struct alignas(64) engine_counters { // one cache line per engine's load
        std::atomic<std::uint32_t> in_flight{0};
        std::uint32_t group = 0; // set before any fetch, then only read
        std::atomic<std::uint32_t> credit[slots];
        engine_counters() {
            for (auto& c : credit)
                c.store(0, std::memory_order_relaxed);
        }
    };
    static std::uint32_t slot_of(std::uint64_t origin) noexcept {
        return static_cast<std::uint32_t>((origin ^ (origin >> 32)) % slots);
    }

    std::size_t count_;
    std::uint32_t groups_ = 1;
    std::unique_ptr<engine_counters[]> counters_;
};

} // namespace curlasio::detail

#endif
