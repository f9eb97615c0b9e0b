/* test-sigv4.c: SigV4 against AWS's published test suite.
 *
 * The vectors are from the AWS Signature Version 4 test suite
 * (https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html),
 * as shipped in awslabs/aws-c-auth, tests/aws-signing-test-suite/v4/NAME/
 * (request.txt, header-canonical-request.txt, header-string-to-sign.txt,
 * header-signature.txt). All of them: key AKIDEXAMPLE, secret
 * wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service "service",
 * 2015-08-30T12:36:00Z. The headers are the request's plus those the
 * signer adds (x-amz-date, the token, the payload hash when signed).
 */
#include "us-sigv4.h"

#include <string.h>

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DATE "20150830T123600Z"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
  const char *name;
  const char *method;
  const char *path;
  const char *query;
  const char *headers[8];   /* "Name:value", NULL-terminated */
  const char *body;
  const char *creq;
  const char *sts;
  const char *signature;
} Vector;

static const Vector vectors[] = {
  { "get-vanilla", "GET", "/", NULL,
    { "Host:example.amazonaws.com", "X-Amz-Date:" DATE, NULL }, "",
    "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA256,
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
  { "get-utf8", "GET", "/\xe1\x88\xb4", NULL,
    { "Host:example.amazonaws.com", "X-Amz-Date:" DATE, NULL }, "",
    "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA256,
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
    "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
    "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85" },
  { "get-header-value-trim", "GET", "/", NULL,
    { "Host:example.amazonaws.com", "My-Header1: value1", "My-Header2: \"a   b   c\"", "X-Amz-Date:" DATE, NULL }, "",
    "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\n"
    "host;my-header1;my-header2;x-amz-date\n" EMPTY_SHA256,
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
    "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
    "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
  { "get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1",
    { "Host:example.amazonaws.com", "X-Amz-Date:" DATE, NULL }, "",
    "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
    EMPTY_SHA256,
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
    "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
    "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
  { "get-vanilla-with-session-token", "GET", "/", NULL,
    { "Host:example.amazonaws.com", "X-Amz-Date:" DATE,
      "X-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267", NULL }, "",
    "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
    "x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n"
    "host;x-amz-date;x-amz-security-token\n" EMPTY_SHA256,
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
    "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
    "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8" },
  { "post-x-www-form-urlencoded", "POST", "/", NULL,
    { "Content-Type:application/x-www-form-urlencoded", "Host:example.amazonaws.com", "Content-Length:13",
      "X-Amz-Date:" DATE,
      "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e", NULL },
    "Param1=value1",
    "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
    "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
    "x-amz-date:20150830T123600Z\n\n"
    "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n"
    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
    "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
    "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b" },
};

static void
test_vector (gconstpointer data)
{
  const Vector *v = data;
  g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  g_autofree char *payload = us_sigv4_sha256_hex (v->body, strlen (v->body));
  g_autofree char *signed_headers = NULL;
  g_autofree char *creq = NULL;
  g_autofree char *sts = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *authorization = NULL;
  g_autofree char *expected_authz = NULL;
  UsSigv4Request request = { v->method, v->path, v->query, headers, payload };

  for (guint i = 0; v->headers[i] != NULL; i++)
    {
      g_auto(GStrv) kv = g_strsplit (v->headers[i], ":", 2);

      soup_message_headers_append (headers, kv[0], kv[1]);
    }
  creq = us_sigv4_canonical_request (&request, &signed_headers);
  g_assert_cmpstr (creq, ==, v->creq);
  sts = us_sigv4_string_to_sign (DATE, "us-east-1", "service", creq);
  g_assert_cmpstr (sts, ==, v->sts);
  signature = us_sigv4_signature (SECRET, DATE, "us-east-1", "service", sts);
  g_assert_cmpstr (signature, ==, v->signature);

  authorization = us_sigv4_authorization (&request, "AKIDEXAMPLE", SECRET, DATE, "us-east-1", "service");
  expected_authz = g_strdup_printf ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                                    "SignedHeaders=%s, Signature=%s", signed_headers, v->signature);
  g_assert_cmpstr (authorization, ==, expected_authz);
}

/* A Bedrock model id in the path: sent once encoded (':' as %3A), and the
 * canonical URI encodes it again (%253A), as for every service but S3. */
static void
test_double_encoding (void)
{
  g_autofree char *path = us_sigv4_uri_encode ("/model/anthropic.claude-v2%3A1/invoke", 37, TRUE);

  g_assert_cmpstr (path, ==, "/model/anthropic.claude-v2%253A1/invoke");
}

/* What us_sigv4_sign_message() sends is what it signed. */
static void
test_sign_message (void)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", "http://127.0.0.1:8123/model/us.anthropic.x%3A0/invoke");
  g_autoptr(GBytes) body = g_bytes_new_static ("{}", 2);
  g_autoptr(GDateTime) now = g_date_time_new_utc (2015, 8, 30, 12, 36, 0);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  g_autoptr(SoupMessageHeaders) signed_set = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  g_autofree char *payload = us_sigv4_sha256_hex ("{}", 2);
  g_autofree char *expected = NULL;
  UsSigv4Request request = { "POST", "/model/us.anthropic.x%3A0/invoke", NULL, signed_set, payload };

  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  us_sigv4_sign_message (msg, body, "AKIDEXAMPLE", SECRET, "TOKEN", "eu-west-1", "bedrock", now);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Host"), ==, "127.0.0.1:8123");
  g_assert_cmpstr (soup_message_headers_get_one (headers, "X-Amz-Date"), ==, DATE);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "X-Amz-Security-Token"), ==, "TOKEN");

  soup_message_headers_append (signed_set, "content-type", "application/json");
  soup_message_headers_append (signed_set, "host", "127.0.0.1:8123");
  soup_message_headers_append (signed_set, "x-amz-date", DATE);
  soup_message_headers_append (signed_set, "x-amz-security-token", "TOKEN");
  expected = us_sigv4_authorization (&request, "AKIDEXAMPLE", SECRET, DATE, "eu-west-1", "bedrock");
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Authorization"), ==, expected);
  g_assert_true (strstr (expected, "/20150830/eu-west-1/bedrock/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, ") != NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autofree char *path = g_strdup_printf ("/sigv4/aws-test-suite/%s", vectors[i].name);

      g_test_add_data_func (path, &vectors[i], test_vector);
    }
  g_test_add_func ("/sigv4/double-encoding", test_double_encoding);
  g_test_add_func ("/sigv4/sign-message", test_sign_message);
  return g_test_run ();
}
