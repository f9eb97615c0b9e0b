/* test-pair.h: a proxy whose one chain is a primary and a fallback fake
 * (anthropic/claude-opus-4-5, then zai/glm-4.6), and the episodes it
 * drives, for the episode and notification tests. */
#pragma once

#include "us-episodes.h"
#include "test-util.h"

typedef struct {
  UsFakeProvider *primary;
  UsFakeProvider *fallback;
  UsProxy *proxy;
  TestClient *client;
  UsEpisodes *episodes;
} TestPair;

/* @primary_url: NULL for the primary fake's; @primary_auth: the provider's
 * auth members as JSON, NULL for "auth": "none". */
TestPair *test_pair_new               (const char *primary_url,
                                       const char *primary_auth);
void      test_pair_free              (TestPair   *pair);
/* One streamed request that must be served by @served ("provider/model"). */
void      test_pair_request           (TestPair   *pair,
                                       const char *served);
/* @n requests at once, half streamed, half whole; all must succeed. */
void      test_pair_request_batch     (TestPair   *pair,
                                       guint       n);
/* Runs the main context until the primary's cooldown is over. */
void      test_pair_wait_until_cooled (TestPair   *pair);
