using System.Text.Json;

namespace Fantasy.Actors.Protocol.Tests.Chaining;

public sealed class InputEquivalenceSpecs
{
    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Theory]
    [InlineData("""{"type":"message","role":"user","content":"hello"}""", """{"role":"user","content":"hello"}""")]
    [InlineData("""{"type":"message","role":"user","content":"hello"}""", """{"type":"message","role":"user","content":[{"type":"input_text","text":"hello"}]}""")]
    [InlineData("""{"role":"user","content":[{"type":"input_text","text":"hel"},{"type":"input_text","text":"lo"}]}""", """{"role":"user","content":"hello"}""")]
    public void The_same_message_written_differently_is_the_same_input(string a, string b)
    {
        Assert.True(ChainPlanner.IsSameInput(J(a), J(b)));
        Assert.True(ChainPlanner.IsSameInput(J(b), J(a)));
    }

    [Theory]
    [InlineData("""{"role":"user","content":"hello"}""", """{"role":"user","content":"hello!"}""")]
    [InlineData("""{"role":"user","content":"hello"}""", """{"role":"system","content":"hello"}""")]
    [InlineData("""{"role":"user","content":"hello"}""", """{"type":"function_call_output","call_id":"c","output":"hello"}""")]
    [InlineData("""{"role":"user","content":[{"type":"input_image","image_url":"x"}]}""", """{"role":"user","content":[{"type":"input_image","image_url":"y"}]}""")]
    public void Different_inputs_are_different(string a, string b) =>
        Assert.False(ChainPlanner.IsSameInput(J(a), J(b)));

    [Fact]
    public void A_string_input_followed_by_the_easy_form_continues_the_chain()
    {
        var first = ResponseRequest.Parse("""{"model":"m","input":"hello"}"""u8);
        var result = new TurnResult
        {
            ResponseId = "resp_1",
            Status = TurnStatus.Completed,
            Output = [new OutputItem(J("""{"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"ok: 1","annotations":[]}]}"""))],
        };
        var state = ChainState.After(1, first, first.Input, result);
        var next = ResponseRequest.Parse("""{"model":"m","input":[{"role":"user","content":"hello"},{"role":"assistant","content":"ok: 1"},{"role":"user","content":"again"}]}"""u8);

        var plan = Assert.IsType<ChainPlan.Continue>(ChainPlanner.Plan(state, next, epoch: 1));
        Assert.Equal("resp_1", plan.PreviousResponseId);
        Assert.Equal("again", Assert.Single(plan.NewItems).GetProperty("content").GetString());
    }
}
