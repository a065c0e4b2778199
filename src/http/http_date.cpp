#include "http/http_date.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/text.h"

namespace pillar::http {

namespace {

const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_index(std::string_view m) {
  for (int i = 0; i < 12; ++i)
    if (m == kMonths[i]) return i;
  return -1;
}

// The fields are fixed-width runs of at most four digits.
bool digits(std::string_view s, int& v) {
  auto n = core::parse_decimal(s);
  if (!n || *n > 9999) return false;
  v = static_cast<int>(*n);
  return true;
}

// "08:49:37"
bool clock(std::string_view s, struct tm& tm) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && digits(s.substr(0, 2), tm.tm_hour) &&
         digits(s.substr(3, 2), tm.tm_min) && digits(s.substr(6, 2), tm.tm_sec) && tm.tm_hour < 24 &&
         tm.tm_min < 60 && tm.tm_sec <= 60;
}

std::optional<time_t> finish(struct tm& tm) {
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 70) return std::nullopt;
  time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return t;
}

}  // namespace

// Written by hand, not with snprintf: every static answer formats its
// Last-Modified, and printf's machinery cost more than the rest of it.
size_t format_http_date(time_t t, char out[30]) {
  struct tm tm;
  gmtime_r(&t, &tm);
  const int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) {  // not a fixed-width date: as printf would write it
    int n = std::snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                          kMonths[tm.tm_mon], year, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return n > 0 ? std::min<size_t>(static_cast<size_t>(n), 29) : 0;
  }
  auto two = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  std::memcpy(out, kDays[tm.tm_wday], 3);
  out[3] = ',';
  out[4] = ' ';
  two(out + 5, tm.tm_mday);
  out[7] = ' ';
  std::memcpy(out + 8, kMonths[tm.tm_mon], 3);
  out[11] = ' ';
  two(out + 12, year / 100);
  two(out + 14, year % 100);
  out[16] = ' ';
  two(out + 17, tm.tm_hour);
  out[19] = ':';
  two(out + 20, tm.tm_min);
  out[22] = ':';
  two(out + 23, tm.tm_sec);
  std::memcpy(out + 25, " GMT", 4);
  out[29] = '\0';
  return 29;
}

std::optional<time_t> parse_http_date(std::string_view s) {
  struct tm tm {};
  int year = 0;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (s.size() == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' && s[11] == ' ' && s[16] == ' ' &&
      s[25] == ' ' && s.substr(26) == "GMT") {
    if (!digits(s.substr(5, 2), tm.tm_mday) || (tm.tm_mon = month_index(s.substr(8, 3))) < 0 ||
        !digits(s.substr(12, 4), year) || !clock(s.substr(17, 8), tm))
      return std::nullopt;
    tm.tm_year = year - 1900;
    return finish(tm);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (s.size() == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ') {
    std::string_view day = s.substr(8, 2);
    if (day[0] == ' ') day.remove_prefix(1);
    if ((tm.tm_mon = month_index(s.substr(4, 3))) < 0 || !digits(day, tm.tm_mday) ||
        !clock(s.substr(11, 8), tm) || !digits(s.substr(20, 4), year))
      return std::nullopt;
    tm.tm_year = year - 1900;
    return finish(tm);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  size_t comma = s.find(", ");
  if (comma != std::string_view::npos && comma >= 6 && s.size() == comma + 24 && s.substr(s.size() - 4) == " GMT") {
    std::string_view rest = s.substr(comma + 2);  // "06-Nov-94 08:49:37 GMT"
    if (rest[2] != '-' || rest[6] != '-' || rest[9] != ' ') return std::nullopt;
    if (!digits(rest.substr(0, 2), tm.tm_mday) || (tm.tm_mon = month_index(rest.substr(3, 3))) < 0 ||
        !digits(rest.substr(7, 2), year) || !clock(rest.substr(10, 8), tm))
      return std::nullopt;
    // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
    tm.tm_year = year < 70 ? year + 100 : year;
    return finish(tm);
  }
  return std::nullopt;
}

}  // namespace pillar::http
