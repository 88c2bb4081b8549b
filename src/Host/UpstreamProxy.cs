using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Fantasy.Actors.Host;

/// <summary>Where a tenant's requests passed through go, and with which credentials (never the caller's gateway key).</summary>
/// <param name="BaseUrl">The upstream's API base, <c>…/v1</c>.</param>
/// <param name="Own">The tenant's own upstream key: its own account, whose ids are its own.</param>
internal sealed record UpstreamTarget(Uri BaseUrl, string ApiKey, string? Organization, string? Project, bool Own)
{
    /// <summary>The tenant's target: its own key and base URL where it has them, the gateway's otherwise.</summary>
    public UpstreamTarget For(TenantOptions tenant) => tenant.UpstreamApiKey is null && tenant.UpstreamBaseUrl is null
        ? this
        : new UpstreamTarget(tenant.UpstreamBaseUrl ?? BaseUrl, tenant.UpstreamApiKey ?? ApiKey,
            tenant.UpstreamApiKey is null ? Organization : null, tenant.UpstreamApiKey is null ? Project : null, Own: tenant.UpstreamApiKey is not null);

    /// <summary>The upstream address of <c>/v1/{rest}</c>.</summary>
    public Uri Address(string rest, QueryString query) => new(BaseUrl.ToString().TrimEnd('/') + "/" + rest.TrimStart('/') + query.ToUriComponent());

    /// <summary>Sets the upstream's credentials on a request, replacing whatever the caller sent.</summary>
    public void Authorize(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.Remove("OpenAI-Organization");
        request.Headers.Remove("OpenAI-Project");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        if (Organization is not null)
        {
            request.Headers.TryAddWithoutValidation("OpenAI-Organization", Organization);
        }

        if (Project is not null)
        {
            request.Headers.TryAddWithoutValidation("OpenAI-Project", Project);
        }
    }
}

/// <summary>
/// Passes a tenant's request through to its upstream over HTTP with YARP's forwarder: bodies streamed both ways, the
/// tenant's upstream credentials in place of the caller's gateway key, the gateway's own headers dropped. Answers
/// <c>GET /v1/models</c> from a short-lived copy per upstream credential.
/// </summary>
internal sealed class UpstreamProxy : IDisposable
{
    private static readonly ForwarderRequestConfig RequestConfig = new()
    {
        // Compaction and long uploads can take minutes with nothing on the wire.
        ActivityTimeout = TimeSpan.FromMinutes(10),
    };

    private readonly IHttpForwarder forwarder;
    private readonly HttpMessageInvoker client;
    private readonly GatewayOptions options;
    private readonly ILogger<UpstreamProxy> log;
    private readonly TimeProvider time;
    private readonly ConcurrentDictionary<UpstreamTarget, CachedModels> models = new();

    public UpstreamProxy(IHttpForwarder forwarder, GatewayOptions options, ILogger<UpstreamProxy> log, TimeProvider? time = null)
    {
        this.forwarder = forwarder;
        this.options = options;
        this.log = log;
        this.time = time ?? TimeProvider.System;
        client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        });
    }

    public void Dispose() => client.Dispose();

    /// <summary>
    /// Forwards the request to <c>{upstream}/v1/{rest}</c>. <paramref name="onAnswer"/>, when given, sees the upstream's
    /// status and whole body (read, then written to the client) — for the few answers whose ids the gateway records.
    /// </summary>
    public async Task ForwardAsync(HttpContext context, UpstreamTarget target, string rest, Func<int, ReadOnlyMemory<byte>, Task>? onAnswer = null)
    {
        var transformer = new TenantTransformer(target, rest, onAnswer);
        var error = await forwarder.SendAsync(context, target.BaseUrl.GetLeftPart(UriPartial.Authority), client, RequestConfig, transformer).ConfigureAwait(false);
        if (error == ForwarderError.None)
        {
            return;
        }

        var exception = context.GetForwarderErrorFeature()?.Exception;
        if (error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled)
        {
            return; // the client went away
        }

        Logs.PassThroughFailed(log, context.Request.Method, rest, target.BaseUrl, error, exception?.Message ?? "no detail");
        await OpenAIErrors.WriteAsync(context, error == ForwarderError.RequestTimedOut ? 504 : 502,
            $"The upstream did not answer {context.Request.Method} /v1/{rest} ({error}: {exception?.Message ?? "no detail"}).", "server_error", code: "upstream_unavailable").ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /v1/models</c>: the upstream's list, kept for <see cref="GatewayOptions.ModelsCacheDuration"/> per credential
    /// (header <c>x-fantasy-cache: hit|miss</c>); an answer other than 200 is passed on and not kept.
    /// </summary>
    public async Task ModelsAsync(HttpContext context, UpstreamTarget target)
    {
        var now = time.GetUtcNow();
        if (options.ModelsCacheDuration > TimeSpan.Zero && models.TryGetValue(target, out var cached) && cached.Until > now)
        {
            await WriteModelsAsync(context, cached, "hit").ConfigureAwait(false);
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, target.Address("models", QueryString.Empty));
        target.Authorize(request);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            Logs.PassThroughFailed(log, "GET", "models", target.BaseUrl, ForwarderError.Request, e.Message);
            await OpenAIErrors.WriteAsync(context, 502, $"The upstream did not answer GET /v1/models ({e.Message}).", "server_error", code: "upstream_unavailable").ConfigureAwait(false);
            return;
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(context.RequestAborted).ConfigureAwait(false);
            var answer = new CachedModels((int)response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "application/json", body, now + options.ModelsCacheDuration);
            if (response.StatusCode == HttpStatusCode.OK && options.ModelsCacheDuration > TimeSpan.Zero)
            {
                models[target] = answer;
            }

            await WriteModelsAsync(context, answer, "miss").ConfigureAwait(false);
        }
    }

    /// <summary>Deletes a response the upstream stored (the gateway answered the caller's DELETE itself); a failure is logged.</summary>
    public async Task DeleteStoredAsync(UpstreamTarget target, string responseId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, target.Address("responses/" + Uri.EscapeDataString(responseId), QueryString.Empty));
        target.Authorize(request);
        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
            {
                Logs.PassThroughFailed(log, "DELETE", "responses/" + responseId, target.BaseUrl, ForwarderError.None, $"the upstream answered {(int)response.StatusCode}; its stored copy may remain");
            }
        }
        catch (HttpRequestException e)
        {
            Logs.PassThroughFailed(log, "DELETE", "responses/" + responseId, target.BaseUrl, ForwarderError.Request, e.Message + "; its stored copy may remain");
        }
    }

    private static async Task WriteModelsAsync(HttpContext context, CachedModels models, string cache)
    {
        context.Response.StatusCode = models.Status;
        context.Response.ContentType = models.ContentType;
        context.Response.ContentLength = models.Body.Length;
        context.Response.Headers["x-fantasy-cache"] = cache;
        await context.Response.Body.WriteAsync(models.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private sealed record CachedModels(int Status, string ContentType, byte[] Body, DateTimeOffset Until);

    /// <summary>The request to the tenant's upstream address with its credentials; the gateway's own headers stay here.</summary>
    private sealed class TenantTransformer(UpstreamTarget target, string rest, Func<int, ReadOnlyMemory<byte>, Task>? onAnswer) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await Default.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            proxyRequest.RequestUri = target.Address(rest, httpContext.Request.QueryString);
            proxyRequest.Headers.Host = null;
            proxyRequest.Headers.Remove("Cookie");
            proxyRequest.Headers.Remove(TurnRequest.SessionHeader);
            target.Authorize(proxyRequest);
        }

        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            var copy = await Default.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
            if (onAnswer is null || proxyResponse is null || !copy)
            {
                return copy;
            }

            // Read whole (these answers are small objects), seen, then written as received.
            var body = await proxyResponse.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            await onAnswer((int)proxyResponse.StatusCode, body).ConfigureAwait(false);
            await httpContext.Response.Body.WriteAsync(body, cancellationToken).ConfigureAwait(false);
            return false;
        }
    }
}
