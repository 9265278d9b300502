"""Azure Anomaly Detector's own Python clients, unchanged, pointed at the Argus gateway.

Usage: python3 azure_sdk_client.py SDK ENDPOINT KEY MODE < request.json
  SDK  : v1.0 (azure-cognitiveservices-anomalydetector) or v1.1 (azure-ai-anomalydetector 3.0.0b6)
  MODE : entire, last or changepoint
The request is Azure's JSON body ({"series": [{"timestamp", "value"}], "granularity", ...}); the answer is
printed as JSON with Azure's (camelCase) field names, or {"error": {status, code, message}} when the
client raised.
"""

import json
import sys
from datetime import datetime


def points(series):
    return [(datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00")), p["value"]) for p in series]


def v1_0(endpoint, key, mode, request):
    from azure.cognitiveservices.anomalydetector import AnomalyDetectorClient
    from azure.cognitiveservices.anomalydetector.models import APIErrorException, ChangePointDetectRequest, Point, Request
    from msrest.authentication import CognitiveServicesCredentials

    client = AnomalyDetectorClient(endpoint, CognitiveServicesCredentials(key))
    series = [Point(timestamp=t, value=v) for t, v in points(request["series"])]
    options = {k: v for k, v in request.items() if k != "series"}
    snake = {"maxAnomalyRatio": "max_anomaly_ratio", "customInterval": "custom_interval", "stableTrendWindow": "stable_trend_window"}
    options = {snake.get(k, k): v for k, v in options.items()}
    try:
        if mode == "changepoint":
            result = client.change_point_detect(ChangePointDetectRequest(series=series, **options))
        elif mode == "last":
            result = client.last_detect(Request(series=series, **options))
        else:
            result = client.entire_detect(Request(series=series, **options))
    except APIErrorException as err:
        return {"error": {"status": err.response.status_code, "code": err.error.code, "message": err.error.message}}
    return result.serialize()


def v1_1(endpoint, key, mode, request):
    from azure.ai.anomalydetector import AnomalyDetectorClient
    from azure.ai.anomalydetector.models import TimeSeriesPoint, UnivariateChangePointDetectionOptions, UnivariateDetectionOptions
    from azure.core.credentials import AzureKeyCredential
    from azure.core.exceptions import HttpResponseError

    client = AnomalyDetectorClient(endpoint, AzureKeyCredential(key))
    series = [TimeSeriesPoint(timestamp=t, value=v) for t, v in points(request["series"])]
    options = {k: v for k, v in request.items() if k != "series"}
    snake = {"maxAnomalyRatio": "max_anomaly_ratio", "customInterval": "custom_interval", "stableTrendWindow": "stable_trend_window"}
    options = {snake.get(k, k): v for k, v in options.items()}
    try:
        if mode == "changepoint":
            result = client.detect_univariate_change_point(UnivariateChangePointDetectionOptions(series=series, **options))
        elif mode == "last":
            result = client.detect_univariate_last_point(UnivariateDetectionOptions(series=series, **options))
        else:
            result = client.detect_univariate_entire_series(UnivariateDetectionOptions(series=series, **options))
    except HttpResponseError as err:
        return {"error": {"status": err.status_code, "code": err.error.code if err.error else None, "message": err.error.message if err.error else str(err)}}
    return dict(result)


def main():
    sdk, endpoint, key, mode = sys.argv[1:5]
    request = json.load(sys.stdin)
    answer = (v1_0 if sdk == "v1.0" else v1_1)(endpoint, key, mode, request)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
