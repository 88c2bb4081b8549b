namespace Fantasy.Actors.Extensions.AI.Tests;

/// <summary>The two samples run as their README command runs them: against the embedded simulator, briefly.</summary>
public sealed class SampleSpecs
{

    [Fact]
    public async Task The_chat_client_tool_loop_sample_answers_every_round_on_one_socket()
    {
        Assert.Null(Environment.GetEnvironmentVariable("OPENAI_API_KEY")); // the sample would call the real API
        using var output = new StringWriter();
        Assert.Equal(0, await Samples.ChatClientToolLoop.ToolLoop.RunAsync(["--rounds", "4"], output).WaitAsync(Patience));
        var text = output.ToString();
        Assert.Equal(4, text.Split('\n').Count(l => l.StartsWith("round ", StringComparison.Ordinal) && l.Contains("tool results received: 1.", StringComparison.Ordinal)));
        Assert.Contains("upstream: 1 socket(s), 8 requests, 7 of them deltas", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_agent_framework_sample_runs_its_session_on_one_socket()
    {
        Assert.Null(Environment.GetEnvironmentVariable("OPENAI_API_KEY"));
        using var output = new StringWriter();
        Assert.Equal(0, await Samples.FrameworkAgent.AgentSample.RunAsync([], output).WaitAsync(Patience));
        Assert.Contains("upstream: 1 socket(s), 5 requests, 4 of them deltas", output.ToString(), StringComparison.Ordinal);
    }
}
