#include <curlasio/detail/response_head_parser.hpp>

namespace curlasio::detail {
namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

} // namespace

response_head_parser::event response_head_parser::on_line(std::string_view line) {
    // Only the first line of a head is a status line: a field that merely
    // starts with "HTTP/" must not restart the head.
    if (at_status_line_) {
        at_status_line_ = false;
        if (line.substr(0, 5) == "HTTP/") {
            // Keep only the last response's head.
            head_bytes_ = line.size();
            final_done_ = false;
            headers_.clear();
            reason_.clear();
            status_ = 0;
            const auto sp = line.find(' ');
            std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
            // Three digits at most (RFC 9110); libcurl has validated them.
            for (std::size_t i = 0; i < rest.size() && i < 3 && rest[i] >= '0' && rest[i] <= '9'; ++i)
                status_ = status_ * 10 + (rest[i] - '0');
            if (auto sp2 = rest.find(' '); sp2 != std::string_view::npos)
                reason_ = std::string(trim(rest.substr(sp2 + 1)));
            return event::line;
        }
    }
    head_bytes_ += line.size();
    if (line == "\r\n" || line == "\n") {
        at_status_line_ = true;
        if (status_ >= 100 && status_ < 200)
            return event::interim_end;
        final_done_ = true;
        return event::final_end;
    }
    std::string_view content = trim(line);
    if (content.empty())
        return event::line;
    if ((line.front() == ' ' || line.front() == '\t') && !headers_.empty()) {
        // obsolete line folding continues the previous field's value
        headers_.extend_last(content);
        return event::line;
    }
    auto colon = content.find(':');
    if (colon == std::string_view::npos)
        return event::line;
    headers_.add(trim(content.substr(0, colon)), trim(content.substr(colon + 1)));
    return event::line;
}

} // namespace curlasio::detail
