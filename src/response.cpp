#include <curlasio/response.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace curlasio {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) {
                   return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

} // namespace

std::optional<std::string_view> header_list::find(std::string_view name) const noexcept {
    for (auto [n, v] : *this)
        if (iequals(n, name))
            return v;
    return std::nullopt;
}

std::vector<std::string_view> header_list::find_all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (auto [n, v] : *this)
        if (iequals(n, name))
            out.push_back(v);
    return out;
}

void header_list::add(std::string_view name, std::string_view value) {
    if (bytes_.size() + name.size() + value.size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("curlasio::header_list: more than 4 GiB of header fields");
    if (fields_.empty()) {
        // Room for a typical head: fewer reallocations, little unused memory.
        bytes_.reserve(256);
        fields_.reserve(8);
    }
    const auto at = static_cast<std::uint32_t>(bytes_.size());
    bytes_.append(name).append(value);
    try {
        fields_.push_back(
            {at, static_cast<std::uint32_t>(name.size()), static_cast<std::uint32_t>(value.size())});
    } catch (...) {
        bytes_.resize(at);
        throw;
    }
}

void header_list::extend_last(std::string_view more) {
    // The last field's value ends the buffer: it grows in place.
    if (fields_.empty())
        return;
    if (bytes_.size() + more.size() + 1 > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("curlasio::header_list: more than 4 GiB of header fields");
    bytes_.append(" ").append(more);
    fields_.back().value_size += static_cast<std::uint32_t>(more.size() + 1);
}

} // namespace curlasio
