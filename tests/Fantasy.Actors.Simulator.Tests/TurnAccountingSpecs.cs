using System.Text;
using System.Text.Json;

namespace Fantasy.Actors.Simulator.Tests;

/// <summary>The simulator's plain decisions: a response's status, usage and deltas, and what it makes of a client's message.</summary>
public sealed class TurnAccountingSpecs
{
    private static JsonElement Item(string type) => JsonDocument.Parse($$"""{"type":"{{type}}"}""").RootElement.Clone();

    [Theory]
    [InlineData(ModelOutcome.Completed, false, "completed")]
    [InlineData(ModelOutcome.Incomplete, false, "incomplete")]
    [InlineData(ModelOutcome.Failed, false, "failed")]
    [InlineData(ModelOutcome.Failed, true, "completed")]
    internal void A_warm_up_always_completes_and_otherwise_the_model_decides(ModelOutcome outcome, bool warmup, string status) =>
        Assert.Equal(status, TurnAccounting.FinalStatus(outcome, warmup));

    [Fact]
    public void Usage_counts_ten_tokens_an_item_with_the_cached_context_and_the_reasoning_items_apart()
    {
        var usage = TurnAccounting.Usage(contextItems: 7, cachedItems: 5, [Item("reasoning"), Item("message"), Item("reasoning")], warmup: false);

        Assert.Equal(new SimulatedUsage(70, 50, 30, 20), usage);
        Assert.Equal(100, usage.Total);
        Assert.Equal(new SimulatedUsage(0, 0, 0, 0), TurnAccounting.Usage(7, 5, [], warmup: true)); // a warm-up costs nothing
    }

    [Theory]
    [InlineData("ok: 5", new[] { "ok:", " 5" })]
    [InlineData("one", new[] { "one" })]
    [InlineData("", new[] { "" })]
    [InlineData("a  b", new[] { "a", " ", " b" })]
    public void Text_goes_out_one_word_per_delta_and_the_deltas_join_back_to_it(string text, string[] deltas)
    {
        var chunks = TurnAccounting.Chunks(text);
        Assert.Equal(deltas, chunks);
        Assert.Equal(text, string.Concat(chunks));
    }

    [Theory]
    [InlineData("not json", "Invalid JSON")]
    [InlineData("[1]", "Expected a JSON object")]
    [InlineData("""{"model":"m"}""", "Missing required parameter: 'type'")]
    [InlineData("""{"type":"response.cancel"}""", "Unsupported event type 'response.cancel'")]
    public void A_message_that_is_not_a_create_request_gets_the_services_400(string frame, string message)
    {
        var (request, error) = CreateFrames.Parse(Encoding.UTF8.GetBytes(frame));

        Assert.Null(request);
        Assert.Equal(400, error!.Status);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_create_request_is_parsed_and_one_websocket_mode_refuses_is_an_error()
    {
        var (request, error) = CreateFrames.Parse("""{"type":"response.create","model":"m","input":"hi"}"""u8.ToArray());
        Assert.Null(error);
        Assert.Equal("m", request!.Model);

        var (_, refused) = CreateFrames.Parse("""{"type":"response.create","model":"m","input":"hi","background":true}"""u8.ToArray());
        Assert.Equal(400, refused!.Status);
    }

    [Theory]
    [InlineData(429, "rate_limit_error")]
    [InlineData(503, "service_unavailable_error")]
    [InlineData(500, "server_error")]
    [InlineData(400, "invalid_request_error")]
    public void An_http_status_has_the_services_error_type(int status, string type) =>
        Assert.Equal(type, CreateFrames.ErrorType(status));
}
