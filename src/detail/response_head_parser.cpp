#include <curlasio/detail/response_head_parser.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>

namespace curlasio::detail {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] | 0x20) : a[i];
        const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] | 0x20) : b[i];
        if (x != y)
            return false;
    }
    return true;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

} // namespace

void response_head_parser::settle_framing() {
    const auto lengths = headers_.find_all("content-length");
    if (lengths.empty())
        return;
    // RFC 9112 6.3: Transfer-Encoding overrides Content-Length, which a
    // forwarder must remove; libcurl then frames by the encoding (7.88 and 8
    // ignore the length). Otherwise libcurl frames by the last Content-Length,
    // read as its leading digits: several, or one with more than digits,
    // become that one figure, so that no reader of the head frames the body
    // otherwise than libcurl did.
    std::optional<std::string> length;
    if (!headers_.contains("transfer-encoding")) {
        const std::string_view last = lengths.back();
        std::int64_t n = 0; // libcurl's curl_off_t
        const auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), n);
        const bool fits = ec == std::errc() && last.front() != '-';
        if (lengths.size() == 1 && fits && end == last.data() + last.size())
            return; // the usual case: as it came
        // libcurl ignores a length that overflows (the close ends the body): none then.
        if (fits)
            length.emplace(last.substr(0, static_cast<std::size_t>(end - last.data())));
    }
    header_list kept;
    for (const auto& [name, value] : headers_) {
        if (!iequals(name, "content-length"))
            kept.add(name, value);
        else if (length) {
            kept.add(name, *length); // where the first one was
            length.reset();
        }
    }
    headers_ = std::move(kept);
}

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
        settle_framing();
        final_done_ = true;
        return event::final_end;
    }
    std::string_view content = trim(line);
    if (content.empty())
        return event::line;
    // RFC 9110 5.5: a CR or NUL inside a line becomes SP before the field is
    // handed on (libcurl splits lines at LF only; written out again, a bare
    // CR would end a line for some readers, who would see fields libcurl did not).
    std::string cleaned;
    if (content.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
        cleaned.assign(content);
        std::replace_if(
            cleaned.begin(), cleaned.end(), [](char ch) { return ch == '\r' || ch == '\0'; }, ' ');
        content = cleaned;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !headers_.empty()) {
        // obsolete line folding continues the previous field's value
        headers_.extend_last(content);
        return event::line;
    }
    auto colon = content.find(':');
    if (colon == std::string_view::npos)
        return event::line;
    const std::string_view name = trim(content.substr(0, colon));
    if (name.empty() || name.find_first_of(" \t") != std::string_view::npos)
        return event::line; // no field name: junk, as a line without a colon
    headers_.add(name, trim(content.substr(colon + 1)));
    return event::line;
}

} // namespace curlasio::detail
