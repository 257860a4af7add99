#include "detail/admission_queue.hpp"

#include <iterator>

namespace curlasio::detail {

std::string_view origin_of(std::string_view url) noexcept {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        return url;
    const auto authority = scheme_end + 3;
    auto end = url.find_first_of("/?#", authority);
    if (end == std::string_view::npos)
        end = url.size();
    return url.substr(0, end);
}

admission_queue::verdict admission_queue::submit(std::uint64_t id, std::string_view origin) {
    if (running_ < max_running_ && index_.empty()) {
        ++running_;
        return verdict::run;
    }
    if (max_queued_ != 0 && index_.size() >= max_queued_)
        return verdict::rejected;

    auto line_at = origins_.find(origin);
    const bool fresh = line_at == origins_.end();
    if (fresh)
        line_at = origins_.try_emplace(std::string(origin)).first;
    origin_line& line = line_at->second;
    bool in_turns = false;
    try {
        if (fresh) {
            line.name = line_at->first;
            line.turn = turns_.insert(turns_.end(), &line);
            in_turns = true;
        }
        line.waiting.push_back(id);
        try {
            index_.emplace(id, place{&line, std::prev(line.waiting.end())});
        } catch (...) {
            line.waiting.pop_back();
            throw;
        }
    } catch (...) {
        if (fresh) {
            if (in_turns)
                turns_.erase(line.turn);
            origins_.erase(line_at);
        }
        throw;
    }
    return verdict::queued;
}

std::optional<std::uint64_t> admission_queue::finished() noexcept {
    if (running_ > 0)
        --running_;
    auto next = take_next();
    if (next)
        ++running_;
    return next;
}

bool admission_queue::cancel(std::uint64_t id) noexcept {
    auto it = index_.find(id);
    if (it == index_.end())
        return false;
    forget(it->second);
    index_.erase(it);
    return true;
}

std::vector<std::uint64_t> admission_queue::drain() {
    std::vector<std::uint64_t> all;
    all.reserve(index_.size());
    while (auto id = take_next())
        all.push_back(*id);
    return all;
}

std::optional<std::uint64_t> admission_queue::take_next() noexcept {
    if (turns_.empty())
        return std::nullopt;
    origin_line* line = turns_.front();
    const std::uint64_t id = line->waiting.front();
    auto it = index_.find(id);
    // Served: this origin waits behind the others (if it still has waiters).
    turns_.splice(turns_.end(), turns_, line->turn);
    forget(it->second);
    index_.erase(it);
    return id;
}

void admission_queue::forget(const place& p) noexcept {
    origin_line* line = p.line;
    line->waiting.erase(p.at);
    if (line->waiting.empty()) {
        turns_.erase(line->turn);
        origins_.erase(origins_.find(line->name));
    }
}

} // namespace curlasio::detail
