using System.Text.Json;

namespace Fantasy.Actors.Protocol.Tests.Errors;

/// <summary>The <c>x-ratelimit-*</c> headers read into a snapshot of the organization's budget.</summary>
public sealed class RateLimitSnapshotSpecs
{
    [Theory]
    [InlineData("6ms", 6)]
    [InlineData("143ms", 143)]
    [InlineData("59.714s", 59_714)]
    [InlineData("6m0s", 360_000)]
    [InlineData("1h2m3.5s", 3_723_500)]
    [InlineData("250us", 0.25)]
    [InlineData("2", 2_000)]
    [InlineData(" 1.5s ", 1_500)]
    public void A_reset_duration_reads_as_the_api_writes_it(string text, double milliseconds)
    {
        Assert.True(RateLimitDuration.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds, precision: 6);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("5x")]
    [InlineData("-1s")]
    [InlineData("1s5")]
    [InlineData(null)]
    public void Anything_else_is_not_a_duration(string? text) => Assert.False(RateLimitDuration.TryParse(text, out _));

    [Fact]
    public void Every_recorded_answer_with_rate_limit_headers_reads_into_its_snapshot()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Vectors.PathOf("http-error-bodies.json")));
        var read = 0;
        foreach (var answer in doc.RootElement.EnumerateArray())
        {
            var headers = answer.GetProperty("headers").EnumerateObject().Select(h => KeyValuePair.Create(h.Name, h.Value.GetString()!)).ToList();
            var snapshot = RateLimitSnapshot.FromHeaders(headers);
            if (!headers.Any(h => h.Key.StartsWith("x-ratelimit-", StringComparison.Ordinal)))
            {
                Assert.Null(snapshot);
                continue;
            }

            string Header(string name) => headers.Single(h => h.Key == name).Value;
            Assert.NotNull(snapshot);
            Assert.Equal(long.Parse(Header("x-ratelimit-limit-requests"), System.Globalization.CultureInfo.InvariantCulture), snapshot.Requests.Limit);
            Assert.Equal(long.Parse(Header("x-ratelimit-remaining-requests"), System.Globalization.CultureInfo.InvariantCulture), snapshot.Requests.Remaining);
            Assert.Equal(long.Parse(Header("x-ratelimit-limit-tokens"), System.Globalization.CultureInfo.InvariantCulture), snapshot.Tokens.Limit);
            Assert.Equal(long.Parse(Header("x-ratelimit-remaining-tokens"), System.Globalization.CultureInfo.InvariantCulture), snapshot.Tokens.Remaining);
            Assert.True(RateLimitDuration.TryParse(Header("x-ratelimit-reset-tokens"), out var reset));
            Assert.Equal(reset, snapshot.Tokens.Reset);
            read++;
        }

        Assert.True(read >= 3, $"only {read} recorded answers carried rate-limit headers");
    }

    [Fact]
    public void The_429_of_the_recorded_answers_says_its_tokens_are_whole_again_in_59_7_seconds()
    {
        var snapshot = RateLimitSnapshot.FromHeaders(new Dictionary<string, string>
        {
            ["X-RateLimit-Limit-Tokens"] = "500000",
            ["x-ratelimit-remaining-tokens"] = "2379",
            ["x-ratelimit-reset-tokens"] = "59.714s",
            ["x-ratelimit-limit-requests"] = "not a number",
        });

        Assert.NotNull(snapshot);
        Assert.Equal(new RateLimitBucket(500_000, 2_379, TimeSpan.FromMilliseconds(59_714)), snapshot.Tokens);
        Assert.Equal(new RateLimitBucket(null, null, null), snapshot.Requests); // unreadable: left out, not an error
    }

    [Fact]
    public void Answers_without_the_headers_have_no_snapshot() =>
        Assert.Null(RateLimitSnapshot.FromHeaders([KeyValuePair.Create("retry-after", "2"), KeyValuePair.Create("x-request-id", "req_1")]));
}
