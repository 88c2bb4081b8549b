using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace Fantasy.Actors.Extensions.AI.Tests;

/// <summary>A Microsoft Agent Framework <see cref="ChatClientAgent"/> over <see cref="ResponsesSessionChatClient"/>.</summary>
public sealed class AgentSpecs : SimulatedSessions
{
    [Fact]
    public async Task An_agent_session_of_several_turns_goes_upstream_as_deltas_on_one_socket()
    {
        var looked = 0;
        var lookup = AIFunctionFactory.Create((int index, int of) => { looked++; return $"found {index + 1} of {of}"; }, "lookup", "Looks something up.");
        var agent = new ChatClientAgent(Sessions.AsChatClient(new ResponsesSessionChatClientOptions { DefaultModel = "m" }), "be brief", "helper", tools: [lookup]);
        var session = await agent.CreateSessionAsync();

        var first = await agent.RunAsync("CALL lookup 1", session).WaitAsync(Patience);
        var second = await agent.RunAsync("hello again", session).WaitAsync(Patience);
        var third = await agent.RunAsync("CALL lookup 1", session).WaitAsync(Patience);

        Assert.Equal(2, looked);
        Assert.StartsWith("tool results received: 1.", first.Text, StringComparison.Ordinal);
        Assert.Equal("ok: 5", second.Text); // the server-side context: user, call, result, answer, user
        Assert.StartsWith("tool results received: 1.", third.Text, StringComparison.Ordinal);

        // Five model calls (call + answer, answer, call + answer) on one socket; all but the first are deltas.
        Assert.Equal(1, Sim.Counters.ConnectionsOpened);
        Assert.Equal(5, Sim.Counters.ResponseCreateFrames);
        Assert.Equal(4, Sim.Counters.ChainedRequests);
    }
}
