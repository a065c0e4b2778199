// Apache's expression language (ap_expr), the subset real configurations
// use: the conditions of <If>/<ElseIf> and of Header/RequestHeader expr=.
// Compiled once when the configuration is read (a syntax error, an unknown
// variable or function, a bad regex or network is a message for the
// loader's FILE:LINE), evaluated per request against an ExprInput the
// server fills. docs/configuration.md lists what is accepted.
//
//   expr   := "true" | "false" | "!" expr | expr "&&" expr | expr "||" expr
//           | "(" expr ")" | word BINOP word | UNOP word
//           | word ("=~" | "!~") REGEX | word ["-"]"in" "{" word, ... "}"
//   BINOP  := == = != < <= > >= -eq -ne -lt -le -gt -ge
//             -ipmatch -strmatch -strcmatch -fnmatch
//   UNOP   := -n -z -T -R (-R 'CIDR' is REMOTE_ADDR -ipmatch 'CIDR')
//   word   := 'string' | "string" (both with %{VAR} inside) | DIGITS
//           | %{VAR} | %{HTTP:Field} | %{ENV:name} | FUNC(word) | word "." word
//   FUNC   := req http resp env reqenv tolower toupper
//   REGEX  := /pattern/[i] | m#pattern#[i] (any punctuation as delimiter)
//
// && binds tighter than ||, ! tightest, as in Apache. Evaluation reads the
// request through views; tolower/toupper, joined fields and interpolated
// strings use per-thread buffers that keep their capacity, so a steady
// state evaluation does not allocate.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pillar::core {
class Regex;
}
namespace pillar::http {
struct RequestHead;
class RequestEnv;
}  // namespace pillar::http

namespace pillar::config {

struct IpNetwork;

// What an expression reads; the server fills it from the request
// (server/request/expr_input.h). Views are valid for one evaluation.
struct ExprInput {
  const http::RequestHead* head = nullptr;  // request fields, method, protocol, HTTP_HOST (the authority)
  std::string_view uri;            // REQUEST_URI: the decoded URL-path, without the query
  std::string_view query;          // QUERY_STRING
  std::string_view remote_addr;    // REMOTE_ADDR (after RemoteIP)
  const sockaddr_storage* client = nullptr;  // the same address, for -ipmatch / -R without parsing
  bool https = false;              // HTTPS on|off, REQUEST_SCHEME https|http
  std::string_view server_name;    // SERVER_NAME (the vhost's ServerName)
  uint16_t server_port = 0;        // SERVER_PORT
  std::string_view filename;       // REQUEST_FILENAME, SCRIPT_FILENAME
  std::string_view document_root;  // DOCUMENT_ROOT
  std::string_view remote_user;    // REMOTE_USER
  std::string_view content_type;   // CONTENT_TYPE: the response's (empty on a request)
  const http::RequestEnv* env = nullptr;  // %{ENV:x}, env(), reqenv()
  // resp('Name'): a response field, when evaluated on a response.
  std::string_view (*response_field)(const void* ctx, std::string_view name) = nullptr;
  const void* response_ctx = nullptr;
};

class Expr {
 public:
  // The expression `text`, or null with `error` saying what is wrong and where.
  static std::shared_ptr<const Expr> compile(std::string_view text, std::string& error);
  ~Expr();

  bool evaluate(const ExprInput& in) const;
  const std::string& text() const { return text_; }
  // It reads the response (CONTENT_TYPE, resp()): meaningful only on one.
  bool reads_response() const { return reads_response_; }

  // The parsed form, shared by expr.cpp's parser and evaluator.
  enum class Var : uint8_t {
    HttpHost, RequestUri, QueryString, RequestMethod, RequestScheme, Https, RemoteAddr, ServerName,
    ServerPort, ServerProtocol, TheRequest, RequestFilename, DocumentRoot, RemoteUser, ContentType, Ipv6,
  };
  enum class Func : uint8_t { ToLower, ToUpper, Req, Resp, Env };
  struct Word {
    enum class Kind : uint8_t { Literal, Var, Field, RespField, Env, Func, Concat } kind = Kind::Literal;
    std::string text;        // Literal: the text; Field/RespField/Env: the name
    Var var = Var::HttpHost;
    Func func = Func::ToLower;
    std::vector<int> parts;  // Func: its argument; Concat: the pieces
  };
  enum class Op : uint8_t {
    True, False, Not, And, Or,
    StrEq, StrNe, StrLt, StrLe, StrGt, StrGe,
    IntEq, IntNe, IntLt, IntLe, IntGt, IntGe,
    Match, NoMatch, IpMatch, StrMatch, StrCMatch, In,
    NonEmpty, Empty, Truthy,
  };
  struct Cond {
    Op op = Op::True;
    int a = -1, b = -1;      // Not/And/Or: conditions; comparisons: words
    int regex = -1;          // Match/NoMatch: regexes_[regex]
    int network = -1;        // IpMatch with a literal network: networks_[network] (else b is the word)
    std::vector<int> list;   // In: the words
  };

 private:
  friend class ExprParser;
  friend class ExprEvaluator;
  Expr() = default;
  std::string text_;
  std::vector<Word> words_;
  std::vector<Cond> conds_;
  std::vector<std::unique_ptr<core::Regex>> regexes_;
  std::vector<std::unique_ptr<IpNetwork>> networks_;
  int root_ = -1;
  bool reads_response_ = false;
};

}  // namespace pillar::config
