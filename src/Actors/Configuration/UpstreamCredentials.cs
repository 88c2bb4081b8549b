namespace Fantasy.Actors.Configuration;

/// <summary>
/// Who the service is upstream: the API key and the optional OpenAI headers. <see cref="ToString"/>
/// never shows the key, so a record that ends up in a log line leaks nothing.
/// </summary>
public sealed record UpstreamCredentials(string ApiKey, string? Organization = null, string? Project = null)
{
    public override string ToString() =>
        $"UpstreamCredentials {{ ApiKey = ***, Organization = {Organization ?? "-"}, Project = {Project ?? "-"} }}";
}
