#ifndef CURLASIO_COOKIE_JAR_HPP
#define CURLASIO_COOKIE_JAR_HPP

/// @file
/// curlasio::cookie_jar: libcurl's cookie engine behind a CURLSH of the jar's own.

// curlasio::cookie_jar: libcurl's own cookie engine, behind a CURLSH of the
// jar's own. A request carries one through request_options::cookies (a
// std::shared_ptr, so that the jar lives as long as the last transfer using
// it); every transfer with the same jar then reads and writes the same
// cookies, by libcurl's rules: domain and host-only matching, path prefixes,
// Secure cookies only over https (and accepted only from https; libcurl
// counts http:// to localhost, 127.0.0.1 and [::1] as secure too, as
// browsers do), expiry (Expires, Max-Age), HttpOnly kept, public-suffix
// checks where libcurl was built with libpsl (Debian's is).
//
//   auto jar = std::make_shared<curlasio::cookie_jar>();
//   jar->load("cookies.txt");
//   req.options.cookies = jar;
//   ... fetches ...
//   jar->save("cookies.txt");

#include <curlasio/error.hpp>

#include <curl/curl.h>

#include <array>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace curlasio {

/// Cookies shared by the transfers that name this jar in
/// request_options::cookies.
///
/// @par Thread safety
/// Every member may be called from any thread, also while
/// transfers on engines running on other threads use the jar (libcurl takes
/// the jar's lock around each access to its cookies; with libcurl 8.12 and
/// later, which reads the cookies it sends after that lock, the engine
/// keeps the lock until libcurl is done: src/cookie_lock_window.hpp).
///
/// @par Lifetimes
/// A transfer holds a std::shared_ptr to its jar until its easy
/// handle is freed; the jar may be dropped by its owner at any time.
///
/// @see @ref md_doc_sessions "Sessions, cookies and retries"
class cookie_jar {
public:
    /// An empty jar. Throws std::bad_alloc when libcurl cannot make its
    /// share or handle.
    cookie_jar();
    ~cookie_jar();
    cookie_jar(const cookie_jar&) = delete;
    cookie_jar& operator=(const cookie_jar&) = delete;

    /// Adds the cookies of a file, to those already in the jar (a cookie of
    /// the same name, domain and path is replaced): the Netscape format
    /// that save() and curl's --cookie-jar write, or lines of HTTP headers
    /// ("Set-Cookie: ..."), libcurl's two formats. A file that cannot be
    /// read is an error (std::errc, from errno); lines libcurl does not
    /// accept are skipped, as libcurl does.
    error_code load(const std::string& path);

    /// Writes every cookie to `path` in the Netscape format (libcurl's
    /// header, then one line per cookie as list() gives them), through a
    /// temporary file (`path` + ".tmp") renamed over `path`, so that a reader
    /// never sees half a file. Expired cookies are left out, as libcurl's
    /// own flush does. Returns the std::errc of a failed write. (libcurl's
    /// CURLOPT_COOKIEJAR flush, which this replaces, reports no failure.)
    error_code save(const std::string& path) const;

    /// Adds one cookie through CURLOPT_COOKIELIST: a Netscape line
    /// ("domain\tsubdomains\tpath\tsecure\texpires\tname\tvalue", where
    /// subdomains and secure are TRUE or FALSE, expires is seconds since the
    /// epoch or 0 for a session cookie) or a header line ("Set-Cookie: a=1;
    /// Domain=example.com; Path=/"; one without a Domain attribute has no
    /// host to go to and is dropped). A line libcurl rejects is ignored,
    /// as libcurl does; a line holding CR, LF or NUL is refused with
    /// errc::invalid_request, so that one call adds one cookie.
    error_code add(std::string_view line);

    /// Every cookie as Netscape lines (CURLINFO_COOKIELIST), expired ones
    /// included until libcurl drops them (when a transfer with the jar next
    /// picks cookies to send; Max-Age=0 at once): a host-only
    /// cookie has "FALSE" in the second field, an HttpOnly one a domain
    /// prefixed by "#HttpOnly_". Throws std::bad_alloc when out of memory.
    std::vector<std::string> list() const;

    /// Removes every cookie (CURLOPT_COOKIELIST "ALL").
    void clear();
    /// Removes the session cookies, those without expiry (CURLOPT_COOKIELIST
    /// "SESS"), as a browser does when it closes.
    void clear_session();

    /// The CURLSH holding the cookies, for CURLOPT_SHARE. Only cookies are
    /// shared through it; do not add other data to it.
    CURLSH* native_handle() const noexcept { return share_; }

private:
    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) noexcept;
    static void unlock(CURL*, curl_lock_data data, void* self) noexcept;

    // One per curl_lock_data, so that libcurl's SHARE lock (taken when a
    // handle attaches or detaches) never waits on a cookie access.
    std::array<std::mutex, CURL_LOCK_DATA_LAST> locks_;
    CURLSH* share_ = nullptr;
    // The handle the jar's own operations go through, attached to share_.
    mutable std::mutex control_mutex_;
    CURL* control_ = nullptr;
};

} // namespace curlasio

#endif
