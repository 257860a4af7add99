#ifndef CURLASIO_SRC_DETAIL_ADMISSION_QUEUE_HPP
#define CURLASIO_SRC_DETAIL_ADMISSION_QUEUE_HPP

// The engine's admission limit as a sans-io decision object: which transfers
// may enter libcurl now, which wait, and which runs next when one ends.
// Waiting transfers are first in first out for each origin, and the origins
// take turns (so one busy host cannot starve the others). Every decision is
// O(1): a queued transfer is a list node and an index entry, nothing else
// (the engine keeps its request; no easy handle, no socket).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace curlasio::detail {

/// The origin of an absolute URL as written: scheme, user information if
/// any, host and port ("https://example.com:8443"), without path, query or
/// fragment. A string that is not an absolute URL is its own origin.
std::string_view origin_of(std::string_view url) noexcept;

class admission_queue {
public:
    enum class verdict {
        run,      ///< enter libcurl now (counted as running)
        queued,   ///< wait: finished() names it when its turn comes
        rejected, ///< the queue is full: complete it with errc::queue_full
    };

    /// `max_running` > 0; `max_queued`: 0 for no bound.
    admission_queue(std::size_t max_running, std::size_t max_queued) noexcept
        : max_running_(max_running), max_queued_(max_queued) {}

    /// A new transfer `id` to `origin`. Throws only std::bad_alloc, leaving
    /// the queue as it was.
    verdict submit(std::uint64_t id, std::string_view origin);
    /// A running transfer ended (however): the one that runs in its place,
    /// if any is waiting (counted running from here on).
    std::optional<std::uint64_t> finished() noexcept;
    /// `id` is cancelled: true if it was waiting (it is forgotten); false if
    /// it runs or is unknown (the caller ends it, then calls finished()).
    bool cancel(std::uint64_t id) noexcept;
    /// Every waiting transfer, in the order they would have run; none is
    /// left waiting (for an engine that aborts everything).
    std::vector<std::uint64_t> drain();

    std::size_t running() const noexcept { return running_; }
    std::size_t queued() const noexcept { return index_.size(); }

private:
    struct origin_line;
    using turn_list = std::list<origin_line*>;
    struct origin_line {
        std::list<std::uint64_t> waiting;
        turn_list::iterator turn; // its place among the origins taking turns
        std::string_view name;    // the key it is stored under
    };
    struct place {
        origin_line* line;
        std::list<std::uint64_t>::iterator at;
    };
    struct name_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
    };

    /// The first waiter of the origin whose turn it is, forgotten; that
    /// origin goes to the back of the turns.
    std::optional<std::uint64_t> take_next() noexcept;
    /// Removes the waiter at `p` from its origin's line (and the line once
    /// empty); the caller erases its index entry.
    void forget(const place& p) noexcept;

    std::size_t max_running_;
    std::size_t max_queued_;
    std::size_t running_ = 0;
    std::unordered_map<std::string, origin_line, name_hash, std::equal_to<>> origins_; // lines with waiters
    turn_list turns_; // the origins with waiters, the next to be served first
    std::unordered_map<std::uint64_t, place> index_;
};

} // namespace curlasio::detail

#endif
